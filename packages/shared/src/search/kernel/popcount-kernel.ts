import type { Stride } from './kernel-layout.ts';

/**
 * A Hamming scan kernel over one linear memory laid out as in kernel-layout.ts. The scanner
 * owns one kernel (and so one memory) and writes codes and the query into `bytes`.
 *
 * scanBlocks contract (identical for every implementation, so results are identical):
 * scans records [blockStart*16, blockEnd*16) in record order and, for each record whose Hamming
 * distance to the query is <= threshold (threshold >= 0), appends (record, distance) to the out
 * area. It stops after the block during which the out area got within 16 pairs of
 * OUT_CAPACITY, stores the next block to scan at RESUME_OFFSET and returns the pair count.
 */
export interface PopcountKernel {
  readonly name: 'wasm-simd' | 'js';
  /** Whole memory as bytes. Replaced (old view detached) whenever reserve() grows memory. */
  readonly bytes: Uint8Array;
  /** Same memory as 32-bit words (little-endian; only used for XOR/popcount and u32 fields). */
  readonly words: Int32Array;
  /** Makes room for `codeBytes` bytes of codes after CODES_OFFSET, keeping contents. */
  reserve(codeBytes: number): void;
  scanBlocks(stride: Stride, blockStart: number, blockEnd: number, threshold: number): number;
  /**
   * For each of the n (<= CANDIDATE_CAPACITY) record numbers at CANDIDATES_OFFSET, in list order,
   * appends (record, distance) to the out area when distance <= threshold (>= 0). Returns the
   * pair count.
   */
  verify(stride: Stride, n: number, threshold: number): number;
  /** Queries one scanBlocksMulti call takes for this stride; 0 when it has none (scan per query). */
  multiProbes(stride: Stride): number;
  /**
   * scanBlocks for `probes` queries at once (at MULTI_QUERY_OFFSET, thresholds at
   * MULTI_THRESHOLDS_OFFSET, negative: nothing): emits (record, distance | probe << 16) and stops
   * within 16 x probes pairs of OUT_CAPACITY.
   */
  scanBlocksMulti(stride: Stride, probes: number, blockStart: number, blockEnd: number): number;
}

/** Bit count of a 32-bit integer (SWAR). */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Smallest byte length >= `need` that is a multiple of 64 KiB (a wasm page), grown by >= 1.5x. */
export function grownSize(current: number, need: number): number {
  const target = Math.max(need, Math.floor(current * 1.5));
  return Math.ceil(target / 65536) * 65536;
}
