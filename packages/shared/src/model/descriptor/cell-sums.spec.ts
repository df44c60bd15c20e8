import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../util/seeded-random.ts';
import { CellSums } from './cell-sums.ts';
import { poolRegion } from './region-pooling.ts';

describe('CellSums', () => {
  const f = 6;
  const c = 5;
  const rng = SeededRandom.from('cell-sums');
  const map = Float32Array.from({ length: 2 * f * f * c }, () => rng.uniform(-1, 3));

  it('averages any cell range of either map like a direct pass over its cells', () => {
    for (const n of [0, 1]) {
      const sums = new CellSums(map, n, f, c);
      for (const cells of [
        { c0: 0, c1: f, r0: 0, r1: f },
        { c0: 2, c1: 3, r0: 4, r1: 5 },
        { c0: 1, c1: 5, r0: 0, r1: 3 },
        { c0: 3, c1: 6, r0: 2, r1: 6 },
      ]) {
        const want = poolRegion(map, n, f, c, cells, 'avg');
        const got = sums.average(cells);
        for (let k = 0; k < c; k++) expect(got[k]).toBeCloseTo(want[k], 5);
      }
    }
  });

  it('refuses empty ranges and ranges outside the map', () => {
    const sums = new CellSums(map, 0, f, c);
    expect(() => sums.average({ c0: 2, c1: 2, r0: 0, r1: 1 })).toThrow(RangeError);
    expect(() => sums.average({ c0: 0, c1: f + 1, r0: 0, r1: 1 })).toThrow(/outside/);
  });
});
