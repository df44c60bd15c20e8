import { CODES_OFFSET, OUT_CAPACITY, type Stride } from './kernel-layout.ts';
import { grownSize, type PopcountKernel } from './popcount-kernel.ts';
import { wasmScanModule } from './wasm-scan-module.ts';

type ScanFn = (blockStart: number, blockEnd: number, threshold: number, outCap: number) => number;

/**
 * The WebAssembly SIMD kernel: one instance (and one linear memory) per scanner, instantiated
 * synchronously from the cached module, so it works the same on the main thread and in workers.
 */
export class WasmPopcountKernel implements PopcountKernel {
  readonly name = 'wasm-simd' as const;
  bytes: Uint8Array;
  words: Int32Array;
  private readonly memory: WebAssembly.Memory;
  private readonly scans: Record<Stride, ScanFn>;

  /** True when this runtime can run the kernel (WebAssembly with SIMD). */
  static supported(): boolean {
    return wasmScanModule() !== null;
  }

  constructor(module: WebAssembly.Module | null = wasmScanModule()) {
    if (!module) throw new Error('WebAssembly SIMD is not available in this runtime');
    const instance = new WebAssembly.Instance(module, {});
    const exp = instance.exports as Record<string, unknown>;
    this.memory = exp.memory as WebAssembly.Memory;
    this.scans = { 4: exp.scan4 as ScanFn, 8: exp.scan8 as ScanFn, 16: exp.scan16 as ScanFn, 32: exp.scan32 as ScanFn };
    this.bytes = new Uint8Array(this.memory.buffer);
    this.words = new Int32Array(this.memory.buffer);
  }

  reserve(codeBytes: number): void {
    const need = CODES_OFFSET + codeBytes;
    const have = this.memory.buffer.byteLength;
    if (need <= have) return;
    this.memory.grow((grownSize(have, need) - have) / 65536);
    this.bytes = new Uint8Array(this.memory.buffer);
    this.words = new Int32Array(this.memory.buffer);
  }

  scanBlocks(stride: Stride, blockStart: number, blockEnd: number, threshold: number): number {
    return this.scans[stride](blockStart, blockEnd, threshold, OUT_CAPACITY);
  }
}
