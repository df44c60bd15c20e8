import { CODES_OFFSET, type Stride } from './kernel/kernel-layout.ts';
import { popcount32 } from './kernel/popcount-kernel.ts';

/** Hamming distance of one stored record to a prepared query. */
export type RecordDistance = (record: number) => number;

/**
 * A fast distance function from `query` to any record stored at stride `stride` in a kernel's
 * memory (`words`: its Int32Array view; no bounds checks). Valid until that memory grows.
 */
export function recordDistance(words: Int32Array, stride: Stride, query: Uint8Array): RecordDistance {
  // The query's words as the kernel's memory holds codes (little-endian, zero padded to the
  // stride), read without allocating typed arrays: V8 makes those outside its heap, at a few us
  // each, and a search makes one of these per probe and shard.
  const q: number[] = [];
  for (let b = 0; b < stride; b += 4) q.push((query[b] ?? 0) | ((query[b + 1] ?? 0) << 8) | ((query[b + 2] ?? 0) << 16) | ((query[b + 3] ?? 0) << 24));
  const base = CODES_OFFSET >> 2;
  const [q0, q1, q2, q3] = [q[0], q[1] ?? 0, q[2] ?? 0, q[3] ?? 0];
  switch (stride) {
    case 4:
      return (r) => popcount32(words[base + r] ^ q0);
    case 8:
      return (r) => {
        const p = base + 2 * r;
        return popcount32(words[p] ^ q0) + popcount32(words[p + 1] ^ q1);
      };
    case 16:
      return (r) => {
        const p = base + 4 * r;
        return popcount32(words[p] ^ q0) + popcount32(words[p + 1] ^ q1) + popcount32(words[p + 2] ^ q2) + popcount32(words[p + 3] ^ q3);
      };
    default:
      return (r) => {
        const p = base + 8 * r;
        let d = 0;
        for (let i = 0; i < 8; i++) d += popcount32(words[p + i] ^ q[i]);
        return d;
      };
  }
}
