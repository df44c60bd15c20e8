import { JsPopcountKernel } from './js-popcount-kernel.ts';
import type { PopcountKernel } from './popcount-kernel.ts';
import { WasmPopcountKernel } from './wasm-popcount-kernel.ts';

export type KernelChoice = 'auto' | 'wasm' | 'js';

/** 'auto' picks wasm SIMD when the runtime supports it, else the JS fallback. */
export function createPopcountKernel(choice: KernelChoice = 'auto'): PopcountKernel {
  if (choice === 'js') return new JsPopcountKernel();
  if (choice === 'wasm' || WasmPopcountKernel.supported()) return new WasmPopcountKernel();
  return new JsPopcountKernel();
}
