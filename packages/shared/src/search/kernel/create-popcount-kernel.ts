import { JsPopcountKernel } from './js-popcount-kernel.ts';
import type { PopcountKernel } from './popcount-kernel.ts';
import { WasmPopcountKernel } from './wasm-popcount-kernel.ts';

/** 'auto' picks wasm when the runtime supports WebAssembly SIMD, else the JS fallback. */
export type KernelChoice = 'auto' | 'wasm' | 'wasm-simd' | 'wasm-scalar' | 'js';

export function createPopcountKernel(choice: KernelChoice = 'auto'): PopcountKernel {
  switch (choice) {
    case 'js':
      return new JsPopcountKernel();
    case 'wasm-simd':
      return new WasmPopcountKernel('simd');
    case 'wasm-scalar':
      return new WasmPopcountKernel('scalar');
    case 'wasm':
      return new WasmPopcountKernel();
    default:
      return WasmPopcountKernel.supported() ? new WasmPopcountKernel() : new JsPopcountKernel();
  }
}
