import { randomFillSync } from 'node:crypto';
import { nativePopcountScan } from '@loupe/native';
import { describe, expect, it } from 'vitest';
import { BLOCK_RECORDS, CODES_OFFSET, MULTI_QUERY_OFFSET, MULTI_THRESHOLDS_OFFSET, OUT_CAPACITY, OUT_OFFSET, QUERY_OFFSET, RESUME_OFFSET } from './kernel-layout.ts';
import { WasmPopcountKernel } from './wasm-popcount-kernel.ts';

const native = nativePopcountScan();
const STRIDE = 32;

/** A wasm kernel's memory with `blocks` blocks of random 256-bit codes, some of them near the query. */
function filledKernel(blocks: number, seed: number): WasmPopcountKernel {
  const kernel = new WasmPopcountKernel('scalar');
  kernel.reserve(blocks * BLOCK_RECORDS * STRIDE);
  const codes = kernel.bytes.subarray(CODES_OFFSET, CODES_OFFSET + blocks * BLOCK_RECORDS * STRIDE);
  randomFillSync(codes);
  const query = randomFillSync(new Uint8Array(STRIDE));
  kernel.bytes.set(query, QUERY_OFFSET);
  // Every 7th record a copy of the query with `seed`-dependent bits flipped: distances from 0 up.
  for (let r = 0; r < blocks * BLOCK_RECORDS; r += 7) {
    const at = CODES_OFFSET + r * STRIDE;
    kernel.bytes.set(query, at);
    for (let f = 0; f < (r * seed) % 40; f++) kernel.bytes[at + ((r + f * 13) % STRIDE)] ^= 1 << f % 8;
  }
  return kernel;
}

/** What a scan call left: its return, the pairs it wrote and the block it stopped at. */
function outcome(kernel: WasmPopcountKernel, pairs: number): { pairs: number[]; resume: number } {
  const w = kernel.words;
  return { pairs: Array.from(w.subarray(OUT_OFFSET >> 2, (OUT_OFFSET >> 2) + 2 * pairs)), resume: w[RESUME_OFFSET >> 2] };
}

/** Zeroes the out area and the resume field (not the query between them). */
function clearOut(kernel: WasmPopcountKernel): void {
  kernel.words[RESUME_OFFSET >> 2] = 0;
  kernel.words.fill(0, OUT_OFFSET >> 2, (OUT_OFFSET >> 2) + 2 * OUT_CAPACITY);
}

describe.runIf(native !== null)('native popcount scan (AVX-512) against the WebAssembly one', () => {
  native?.layout(CODES_OFFSET, QUERY_OFFSET, OUT_OFFSET, RESUME_OFFSET, MULTI_QUERY_OFFSET, MULTI_THRESHOLDS_OFFSET);

  it('emits the same pairs, in the same order, and stops at the same block, for one probe', () => {
    const kernel = filledKernel(700, 3);
    for (const [start, end, threshold] of [[0, 700, 256], [0, 700, 100], [5, 699, 20], [13, 14, 0], [0, 700, 118], [300, 300, 50]]) {
      const wasm = kernel.scanBlocks(STRIDE, start, end, threshold);
      const expected = outcome(kernel, wasm);
      clearOut(kernel);
      const got = native!.scan32(kernel.bytes.buffer as ArrayBuffer, start, end, threshold, OUT_CAPACITY);
      expect({ start, end, threshold, n: got, ...outcome(kernel, got) }).toEqual({ start, end, threshold, n: wasm, ...expected });
    }
  });

  it('emits the same pairs for 2 to 4 probes at once, a negative threshold emitting nothing', () => {
    const kernel = filledKernel(500, 5);
    for (let probes = 2; probes <= 4; probes++) {
      for (const thresholds of [[256, 256, 256, 256], [90, -1, 120, 10], [0, 30, -5, 128]]) {
        for (let p = 0; p < probes; p++) {
          const code = p === 0 ? kernel.bytes.slice(QUERY_OFFSET, QUERY_OFFSET + STRIDE) : randomFillSync(new Uint8Array(STRIDE));
          kernel.bytes.set(code, MULTI_QUERY_OFFSET + 32 * p);
          new DataView(kernel.bytes.buffer).setInt32(MULTI_THRESHOLDS_OFFSET + 4 * p, thresholds[p], true);
        }
        const wasm = kernel.scanBlocksMulti(STRIDE, probes, 3, 497);
        const expected = outcome(kernel, wasm);
        clearOut(kernel);
        const got = native!.multi32(kernel.bytes.buffer as ArrayBuffer, probes, 3, 497, OUT_CAPACITY);
        expect({ probes, thresholds, n: got, ...outcome(kernel, got) }).toEqual({ probes, thresholds, n: wasm, ...expected });
      }
    }
  });

  it('refuses blocks outside the memory', () => {
    const kernel = filledKernel(10, 1);
    const blocks = (kernel.bytes.length - CODES_OFFSET) / (BLOCK_RECORDS * STRIDE);
    expect(() => native!.scan32(kernel.bytes.buffer as ArrayBuffer, 0, blocks + 1, 10, OUT_CAPACITY)).toThrow(/outside the memory/);
  });
});
