import { describe, expect, it } from 'vitest';
import { concatNormalized, gridCells, poolRegion } from './region-pooling.ts';

describe('gridCells', () => {
  it('splits a range into grid x grid parts that tile it row by row', () => {
    expect(gridCells({ c0: 0, c1: 4, r0: 0, r1: 4 }, 2)).toEqual([
      { c0: 0, c1: 2, r0: 0, r1: 2 },
      { c0: 2, c1: 4, r0: 0, r1: 2 },
      { c0: 0, c1: 2, r0: 2, r1: 4 },
      { c0: 2, c1: 4, r0: 2, r1: 4 },
    ]);
    const parts = gridCells({ c0: 3, c1: 10, r0: 1, r1: 8 }, 3);
    const covered = new Set<string>();
    for (const p of parts) for (let r = p.r0; r < p.r1; r++) for (let c = p.c0; c < p.c1; c++) covered.add(`${r},${c}`);
    expect(covered.size).toBe(49);
  });

  it('never gives an empty part, even when the range is narrower than the grid', () => {
    const parts = gridCells({ c0: 5, c1: 6, r0: 2, r1: 4 }, 3);
    expect(parts).toHaveLength(9);
    for (const p of parts) {
      expect(p.c1).toBeGreaterThan(p.c0);
      expect(p.r1).toBeGreaterThan(p.r0);
      expect(p.c0).toBeGreaterThanOrEqual(5);
      expect(p.r1).toBeLessThanOrEqual(4);
    }
  });
});

describe('concatNormalized', () => {
  it('gives a unit vector whose parts weigh alike, whatever their scale', () => {
    const v = concatNormalized([Float32Array.of(3, 4), Float32Array.of(0, 100)]);
    expect(Array.from(v).map((x) => +x.toFixed(6))).toEqual([+(0.6 / Math.SQRT2).toFixed(6), +(0.8 / Math.SQRT2).toFixed(6), 0, +(1 / Math.SQRT2).toFixed(6)]);
  });

  it('of the 2x2 parts of a map, equals the per-part average pools', () => {
    // 4x4 map, 1 channel: value = row * 4 + col
    const map = Float32Array.from({ length: 16 }, (_, i) => i + 1);
    const parts = gridCells({ c0: 0, c1: 4, r0: 0, r1: 4 }, 2).map((c) => poolRegion(map, 0, 4, 1, c, 'avg'));
    expect(parts.map((p) => p[0])).toEqual([3.5, 5.5, 11.5, 13.5]);
    expect(Array.from(concatNormalized(parts))).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
});
