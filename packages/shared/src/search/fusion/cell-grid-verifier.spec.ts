import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../util/seeded-random.ts';
import { DEFAULT_VIEW_PLAN, withDctLevel, type ViewPlan } from '../../view/view-plan.ts';
import { CellGridVerifier, type QueryCellGrid } from './cell-grid-verifier.ts';
import type { FusedHit } from './view-fusion.ts';

const BITS = 64;
const BYTES = BITS / 8;
const F = 14;
const settings = { candidates: 10, weight: 0.5, keepWholeWithin: 0.05 };

function randomCells(n: number, seed: string, bytes = BYTES): Uint8Array {
  const rng = SeededRandom.from(seed);
  return Uint8Array.from({ length: n * bytes }, () => Math.floor(rng.next() * 256));
}

/** The m x m block at (r0, c0) of an f x f grid of cells, as a query map of that piece would code it. */
function pieceOf(cells: Uint8Array, r0: number, c0: number, m: number, f = F, bytes = BYTES): QueryCellGrid {
  const codes = new Uint8Array(m * m * bytes);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < m; j++) codes.set(cells.subarray(((r0 + i) * f + c0 + j) * bytes, ((r0 + i) * f + c0 + j + 1) * bytes), (i * m + j) * bytes);
  return { side: m, codes };
}

const hit = (key: string, level: number, distance: number, rank = distance): FusedHit => ({ key, level, view: 0, distance, rank, width: 100, height: 100, queryView: 'global' });

describe('CellGridVerifier', () => {
  const verifier = new CellGridVerifier(BITS, BITS, F, settings, [0, 4]);
  const source = randomCells(F * F, 'source');
  const other = randomCells(F * F, 'other');

  it('finds where a piece of the candidate lies, its border ring left out', () => {
    const m = verifier.match([pieceOf(source, 3, 5, 7)], source)!;
    expect(m.score).toBe(1);
    // The 7x7 map's inner 5x5 cells: one cell in from where the piece starts.
    expect(m.cells).toEqual({ c0: 6, r0: 4, c1: 11, r1: 9 });
    const small = verifier.match([pieceOf(source, 9, 0, 5)], source)!;
    expect(small.cells).toEqual({ c0: 0, r0: 9, c1: 5, r1: 14 });
  });

  it('scores unrelated cells near zero agreement and keeps the best of several grids', () => {
    const piece = pieceOf(source, 2, 2, 10);
    expect(Math.abs(verifier.match([piece], other)!.score)).toBeLessThan(0.2);
    expect(verifier.match([pieceOf(other, 0, 0, 5), piece], source)!.score).toBe(1);
    // A grid whose inner cells outgrow the candidate's cannot be placed.
    expect(verifier.match([{ side: 17, codes: new Uint8Array(17 * 17 * BYTES) }], source)).toBeNull();
  });

  it('re-ranks candidates by their cell agreement: the source overtakes a closer look-alike', () => {
    const query = [pieceOf(source, 4, 4, 7)];
    const hits = [hit('look-alike', 2, 40), hit('source', 2, 50), hit('unread', 1, 45)];
    const out = verifier.rerank(hits, query, [other, source, undefined]);
    expect(out.map((h) => h.key)).toEqual(['source', 'look-alike', 'unread']);
    // rank - weight x bits x score: 50 - 0.5 x 64 x 1
    expect(out[0].rank).toBe(18);
    expect(out[2].rank).toBe(45);
  });

  it('leaves a close whole-image top hit alone', () => {
    expect(verifier.needsCheck([hit('copy', 0, 3), hit('b', 2, 20)])).toBe(false);
    expect(verifier.needsCheck([hit('copy', 4, 3)])).toBe(false);
    expect(verifier.needsCheck([hit('far', 0, 4)])).toBe(true);
    expect(verifier.needsCheck([hit('crop', 2, 1)])).toBe(true);
    expect(verifier.needsCheck([])).toBe(false);
  });

  it('exists only for a plan with a cell level and a verification setting; ranks stay in the searched bits', () => {
    const plan: ViewPlan = withDctLevel({ levels: [...DEFAULT_VIEW_PLAN.levels, { name: 'cells', grid: 10, overlap: 0, kind: 'cells', bits: 32 }] });
    const v = CellGridVerifier.forPlan(BITS, plan, settings)!;
    expect([v.gridSide, v.bits, v.cellBits]).toEqual([10, BITS, 32]);
    // 32-bit cells on a 10x10 grid; the bonus is in the searched bits: 0.5 x 64 x 1.
    const cells = randomCells(100, 'short', 4);
    const piece = pieceOf(cells, 2, 3, 6, 10, 4);
    expect(v.match([piece], cells)).toEqual({ score: 1, cells: { c0: 4, r0: 3, c1: 8, r1: 7 } });
    expect(v.rerank([hit('a', 2, 40)], [piece], [cells])[0].rank).toBe(8);
    expect(() => v.match([piece], source)).toThrow(/bytes, expected 400/);
    expect(v.needsCheck([hit('copy', 4, 0)])).toBe(false);
    expect(CellGridVerifier.forPlan(BITS, plan, undefined)).toBeUndefined();
    expect(CellGridVerifier.forPlan(BITS, DEFAULT_VIEW_PLAN, settings)).toBeUndefined();
  });
});
