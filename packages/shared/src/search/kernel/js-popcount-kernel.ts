import { BLOCK_RECORDS, CANDIDATES_OFFSET, CODES_OFFSET, OUT_CAPACITY, OUT_OFFSET, QUERY_OFFSET, RESUME_OFFSET, type Stride } from './kernel-layout.ts';
import { grownSize, popcount32, type PopcountKernel } from './popcount-kernel.ts';

/**
 * Plain-JS fallback with the same memory layout and scanBlocks contract as the wasm kernel, so it
 * returns identical results (runtimes without WebAssembly SIMD, and as a test oracle).
 */
export class JsPopcountKernel implements PopcountKernel {
  readonly name = 'js' as const;
  bytes: Uint8Array;
  words: Int32Array;

  constructor() {
    this.bytes = new Uint8Array(CODES_OFFSET + 65536);
    this.words = new Int32Array(this.bytes.buffer);
  }

  reserve(codeBytes: number): void {
    const need = CODES_OFFSET + codeBytes;
    if (need <= this.bytes.length) return;
    const next = new Uint8Array(grownSize(this.bytes.length, need));
    next.set(this.bytes);
    this.bytes = next;
    this.words = new Int32Array(next.buffer);
  }

  scanBlocks(stride: Stride, blockStart: number, blockEnd: number, threshold: number): number {
    const w = this.words;
    const wordsPerRecord = stride >> 2;
    const qa = w.slice(QUERY_OFFSET >> 2, (QUERY_OFFSET >> 2) + 8);
    const [q0, q1, q2, q3, q4, q5, q6, q7] = qa;
    const out = OUT_OFFSET >> 2;
    let n = 0;
    let b = blockStart;
    while (b < blockEnd) {
      const first = b * BLOCK_RECORDS;
      let p = (CODES_OFFSET >> 2) + first * wordsPerRecord;
      for (let j = 0; j < BLOCK_RECORDS; j++, p += wordsPerRecord) {
        // Unrolled per stride: a generic word loop is several times slower in V8.
        let d = popcount32(w[p] ^ q0);
        if (wordsPerRecord >= 2) d += popcount32(w[p + 1] ^ q1);
        if (wordsPerRecord >= 4) d += popcount32(w[p + 2] ^ q2) + popcount32(w[p + 3] ^ q3);
        if (wordsPerRecord === 8) {
          d += popcount32(w[p + 4] ^ q4) + popcount32(w[p + 5] ^ q5) + popcount32(w[p + 6] ^ q6) + popcount32(w[p + 7] ^ q7);
        }
        if (d <= threshold) {
          w[out + 2 * n] = first + j;
          w[out + 2 * n + 1] = d;
          n++;
        }
      }
      b++;
      if (n + BLOCK_RECORDS > OUT_CAPACITY) break;
    }
    w[RESUME_OFFSET >> 2] = b;
    return n;
  }

  multiProbes(): number {
    return 0;
  }

  scanBlocksMulti(): number {
    throw new Error('the JS kernel scans one probe at a time');
  }

  verify(stride: Stride, n: number, threshold: number): number {
    const w = this.words;
    const wordsPerRecord = stride >> 2;
    const q = w.slice(QUERY_OFFSET >> 2, (QUERY_OFFSET >> 2) + wordsPerRecord);
    const list = CANDIDATES_OFFSET >> 2;
    const out = OUT_OFFSET >> 2;
    let emitted = 0;
    for (let i = 0; i < n; i++) {
      const record = w[list + i];
      const p = (CODES_OFFSET >> 2) + record * wordsPerRecord;
      let d = 0;
      for (let k = 0; k < wordsPerRecord; k++) d += popcount32(w[p + k] ^ q[k]);
      if (d <= threshold) {
        w[out + 2 * emitted] = record;
        w[out + 2 * emitted + 1] = d;
        emitted++;
      }
    }
    return emitted;
  }
}
