import { adviseHugePages, nativePopcountScan, type NativePopcountScan } from '@loupe/native';
import { CODES_OFFSET, MULTI_PROBES, MULTI_QUERY_OFFSET, MULTI_THRESHOLDS_OFFSET, OUT_CAPACITY, OUT_OFFSET, QUERY_OFFSET, RESUME_OFFSET, type Stride } from './kernel-layout.ts';
import { grownSize, type PopcountKernel } from './popcount-kernel.ts';
import { MULTI_STRIDES } from './wasm-multi-scan.ts';
import { multiScanName, wasmScanModule } from './wasm-scan-module.ts';

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
  private readonly verifies: Record<Stride, ScanFn>;
  /** Multi-probe scans by stride and probe count (index 2..MULTI_PROBES). */
  private readonly multis = new Map<Stride, ScanFn[]>();
  /**
   * 256-bit codes' scans with AVX-512 vpopcntq where the CPU has it (the addon's loops over this
   * same memory, identical results): WebAssembly's popcount does one 64-bit word a cycle, which
   * bounds the scans that stay in the caches and those of several probes at once.
   */
  private readonly native: NativePopcountScan | null;

  /** True when this runtime can run the kernel (WebAssembly with SIMD). */
  static supported(): boolean {
    return wasmScanModule() !== null;
  }

  constructor(
    /**
     * 'simd': i8x16.popcnt blocks; 'scalar': i64.popcnt per record; both exact. 'auto' takes what
     * measured faster on x64 without AVX-512 (V8 lowers i8x16.popcnt to a pshufb nibble lookup
     * there, while i64.popcnt is one instruction): SIMD for 32-bit codes, scalar for 64..256-bit
     * (see docs/benchmarks.md).
     */
    readonly variant: 'auto' | 'simd' | 'scalar' = 'auto',
    module: WebAssembly.Module | null = wasmScanModule(),
  ) {
    if (!module) throw new Error('WebAssembly SIMD is not available in this runtime');
    const instance = new WebAssembly.Instance(module, {});
    const exp = instance.exports as Record<string, unknown>;
    this.memory = exp.memory as WebAssembly.Memory;
    const simdFor = (s: Stride) => (variant === 'auto' ? s === 4 : variant === 'simd');
    const fn = (s: Stride) => exp[`${simdFor(s) ? 'scan' : 'scalar'}${s}`] as ScanFn;
    this.scans = { 4: fn(4), 8: fn(8), 16: fn(16), 32: fn(32) };
    const verify = (s: Stride) => exp[`verify${s}`] as ScanFn;
    this.verifies = { 4: verify(4), 8: verify(8), 16: verify(16), 32: verify(32) };
    for (const s of MULTI_STRIDES) this.multis.set(s, Array.from({ length: MULTI_PROBES + 1 }, (_, p) => exp[multiScanName(s, p)] as ScanFn));
    this.bytes = new Uint8Array(this.memory.buffer);
    this.words = new Int32Array(this.memory.buffer);
    this.native = variant === 'auto' ? nativePopcountScan() : null;
    // The addon reads this module's layout; it is the same for every kernel, so telling it each time is harmless.
    this.native?.layout(CODES_OFFSET, QUERY_OFFSET, OUT_OFFSET, RESUME_OFFSET, MULTI_QUERY_OFFSET, MULTI_THRESHOLDS_OFFSET);
  }

  reserve(codeBytes: number): void {
    const need = CODES_OFFSET + codeBytes;
    const have = this.memory.buffer.byteLength;
    if (need <= have) return;
    this.memory.grow((grownSize(have, need) - have) / 65536);
    // Before the new pages are first written: they can then be huge pages, and a scan streaming
    // them takes a TLB miss every 2 MiB instead of every 4 KiB (docs/benchmarks.md, "Scale").
    adviseHugePages(this.memory.buffer);
    this.bytes = new Uint8Array(this.memory.buffer);
    this.words = new Int32Array(this.memory.buffer);
  }

  scanBlocks(stride: Stride, blockStart: number, blockEnd: number, threshold: number): number {
    if (stride === 32 && this.native) return this.native.scan32(this.memory.buffer, blockStart, blockEnd, threshold, OUT_CAPACITY);
    return this.scans[stride](blockStart, blockEnd, threshold, OUT_CAPACITY);
  }

  multiProbes(stride: Stride): number {
    return this.multis.has(stride) ? MULTI_PROBES : 0;
  }

  scanBlocksMulti(stride: Stride, probes: number, blockStart: number, blockEnd: number): number {
    if (stride === 32 && this.native) return this.native.multi32(this.memory.buffer, probes, blockStart, blockEnd, OUT_CAPACITY);
    return this.multis.get(stride)![probes](blockStart, blockEnd, 0, OUT_CAPACITY);
  }

  verify(stride: Stride, n: number, threshold: number): number {
    return this.verifies[stride](0, n, threshold, 0);
  }
}
