import { BLOCK_RECORDS, MULTI_QUERY_OFFSET, MULTI_THRESHOLDS_OFFSET, type Stride } from './kernel-layout.ts';
import { I32, I64, get, konst, op, set, uleb, vec } from './wasm-asm.ts';
import { blockLoop, emitPair } from './wasm-block-scan.ts';

/** Strides with multi-probe functions (64..256-bit codes; 32-bit codes scan one probe at a time). */
export const MULTI_STRIDES = [8, 16, 32] as const satisfies readonly Stride[];

/**
 * multiS_P(blockStart, blockEnd, -, outCap): the scalar scan (i64.popcnt per word) of records
 * [blockStart*16, blockEnd*16) against P queries at once: each record's words are loaded once and
 * XORed with every query, so a level probed by several queries is read from memory once, and the
 * loads and loop overhead are shared. For each record and probe p whose distance is <= the probe's
 * threshold (signed: a negative one emits nothing) it appends (record, distance | p << 16) to the
 * out area; it stops after the block during which the out area got within 16 x P pairs of
 * outCap, stores the next block at RESUME_OFFSET and returns the pair count.
 */
export function multiScanBody(stride: Stride, probes: number): number[] {
  const P = 5, D = 6; // after the shared block-scan locals (wasm-block-scan.ts)
  const blockBytes = BLOCK_RECORDS * stride;
  const words = stride / 8;
  const TH = (p: number) => 7 + p; // i32 thresholds
  const R = (w: number) => 7 + probes + w; // i64 words of the current record
  const Q = (p: number, w: number) => 7 + probes + words + p * words + w; // i64 query words
  const setup: number[] = [];
  for (let p = 0; p < probes; p++) {
    setup.push(...konst(0), op.i32Load, 2, ...uleb(MULTI_THRESHOLDS_OFFSET + 4 * p), ...set(TH(p)));
    for (let w = 0; w < words; w++) setup.push(...konst(0), op.i64Load, 3, ...uleb(MULTI_QUERY_OFFSET + 32 * p + 8 * w), ...set(Q(p, w)));
  }
  const record = (j: number): number[] => {
    const out: number[] = [];
    for (let w = 0; w < words; w++) out.push(...get(P), op.i64Load, 3, ...uleb(j * stride + 8 * w), ...set(R(w)));
    for (let p = 0; p < probes; p++) {
      for (let w = 0; w < words; w++) {
        out.push(...get(R(w)), ...get(Q(p, w)), op.i64Xor, op.i64Popcnt);
        if (w > 0) out.push(op.i64Add);
      }
      out.push(op.i32WrapI64, op.localTee, D, ...get(TH(p)), op.i32LeS, op.if, 0x40, ...emitPair(j, D, p << 16), op.end);
    }
    return out;
  };
  const code = blockLoop(setup, blockBytes, Array.from({ length: BLOCK_RECORDS }, (_, j) => record(j)).flat(), BLOCK_RECORDS * probes);
  const locals = vec([[...uleb(3 + probes), I32], [...uleb(words + probes * words), I64]]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}
