import type { CellRange } from './region-pooling.ts';

/**
 * Summed-area table of one feature map ([F, F, C] inside a batch laid out [N, F, F, C]): the sum
 * of any cell range in 4 reads per channel, so average-pooling a hundred overlapping regions of a
 * large map costs about one pass over it instead of one pass per region. Float64 sums: the same
 * map always gives the same floats, whichever ranges are asked for.
 */
export class CellSums {
  private readonly sums: Float64Array;
  private readonly stride: number;

  constructor(
    map: Float32Array,
    n: number,
    private readonly f: number,
    private readonly c: number,
  ) {
    const w = f + 1;
    this.stride = w;
    const s = new Float64Array(w * w * c);
    const base = n * f * f * c;
    for (let r = 1; r <= f; r++) {
      for (let col = 1; col <= f; col++) {
        const o = (r * w + col) * c;
        const up = ((r - 1) * w + col) * c;
        const left = (r * w + col - 1) * c;
        const diag = ((r - 1) * w + col - 1) * c;
        const m = base + ((r - 1) * f + col - 1) * c;
        for (let k = 0; k < c; k++) s[o + k] = map[m + k] + s[up + k] + s[left + k] - s[diag + k];
      }
    }
    this.sums = s;
  }

  /** Mean of each channel over the cells of `cells`. */
  average(cells: CellRange): Float32Array {
    const { c, sums, stride: w } = this;
    if (cells.c0 < 0 || cells.r0 < 0 || cells.c1 > this.f || cells.r1 > this.f || cells.c1 <= cells.c0 || cells.r1 <= cells.r0) {
      throw new RangeError(`cell range ${JSON.stringify(cells)} outside a ${this.f}x${this.f} map`);
    }
    const a = (cells.r1 * w + cells.c1) * c;
    const b = (cells.r0 * w + cells.c1) * c;
    const d = (cells.r1 * w + cells.c0) * c;
    const e = (cells.r0 * w + cells.c0) * c;
    const inv = 1 / ((cells.r1 - cells.r0) * (cells.c1 - cells.c0));
    const out = new Float32Array(c);
    for (let k = 0; k < c; k++) out[k] = (sums[a + k] - sums[b + k] - sums[d + k] + sums[e + k]) * inv;
    return out;
  }
}
