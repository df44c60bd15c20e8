import { CODES_OFFSET, OUT_OFFSET, RESUME_OFFSET } from './kernel-layout.ts';
import { get, konst, op, set, uleb } from './wasm-asm.ts';

/** Locals the unrolled block scans share: params blockStart, blockEnd, -, outCap; then n (pairs) and p (block address). */
const B = 0, E = 1, CAP = 3, N = 4, P = 5;

/** Appends (record blockStart*16 + j, local `d` OR-ed with `tag`) to the out area and counts it. */
export function emitPair(j: number, d: number, tag = 0): number[] {
  return [
    ...get(N), ...konst(3), op.i32Shl, ...get(B), ...konst(4), op.i32Shl, ...konst(j), op.i32Or, op.i32Store, 2, ...uleb(OUT_OFFSET),
    ...get(N), ...konst(3), op.i32Shl, ...get(d), ...(tag ? [...konst(tag), op.i32Or] : []), op.i32Store, 2, ...uleb(OUT_OFFSET + 4),
    ...get(N), ...konst(1), op.i32Add, ...set(N),
  ];
}

/**
 * The code of a scan over blocks [blockStart, blockEnd): `setup`, then `block` (the 16 records at
 * address p) per block; stops after the block that left fewer than `pairsPerBlock` free pairs below
 * outCap, stores the next block at RESUME_OFFSET and returns the pair count.
 */
export function blockLoop(setup: number[], blockBytes: number, block: number[], pairsPerBlock: number): number[] {
  return [
    ...setup,
    ...get(B), ...konst(blockBytes), op.i32Mul, ...konst(CODES_OFFSET), op.i32Add, ...set(P),
    op.block, 0x40,
    op.loop, 0x40,
    ...get(B), ...get(E), op.i32GeU, op.brIf, 1,
    ...block,
    ...get(P), ...konst(blockBytes), op.i32Add, ...set(P),
    ...get(B), ...konst(1), op.i32Add, ...set(B),
    ...get(N), ...konst(pairsPerBlock), op.i32Add, ...get(CAP), op.i32GtU, op.brIf, 1,
    op.br, 0,
    op.end,
    op.end,
    ...konst(0), ...get(B), op.i32Store, 2, ...uleb(RESUME_OFFSET),
    ...get(N),
    op.end,
  ];
}
