import type { Box } from '../../view/view-plan.ts';

/** Half-open ranges of feature-map cells [c0, c1) x [r0, r1). */
export interface CellRange {
  c0: number;
  c1: number;
  r0: number;
  r1: number;
}

export type Pooling = 'avg' | 'max' | 'gem';

/** GeM exponent; 3 is the usual choice for retrieval. */
const GEM_P = 3;

/**
 * Cells of an F x F map whose centres lie in a box given as fractions of the image; never empty.
 */
export function boxToCells(unit: Box, f: number): CellRange {
  const clamp = (v: number) => Math.min(f, Math.max(0, v));
  const c0 = Math.min(f - 1, clamp(Math.round(unit.x * f)));
  const r0 = Math.min(f - 1, clamp(Math.round(unit.y * f)));
  return {
    c0,
    r0,
    c1: Math.max(c0 + 1, clamp(Math.round((unit.x + unit.w) * f))),
    r1: Math.max(r0 + 1, clamp(Math.round((unit.y + unit.h) * f))),
  };
}

/**
 * A cell range split into grid x grid sub-ranges, row by row; every sub-range keeps at least one
 * cell (neighbours share a cell when the range is narrower than the grid).
 */
export function gridCells(cells: CellRange, grid: number): CellRange[] {
  const split = (a: number, b: number, i: number): [number, number] => {
    const start = a + Math.floor((i * (b - a)) / grid);
    return [start, Math.max(start + 1, a + Math.floor(((i + 1) * (b - a)) / grid))];
  };
  const out: CellRange[] = [];
  for (let i = 0; i < grid; i++) {
    const [r0, r1] = split(cells.r0, cells.r1, i);
    for (let j = 0; j < grid; j++) {
      const [c0, c1] = split(cells.c0, cells.c1, j);
      out.push({ c0, c1, r0, r1 });
    }
  }
  return out;
}

/** A box in source pixels as fractions of the source image. */
export function unitBox(box: Box, width: number, height: number): Box {
  return { x: box.x / width, y: box.y / height, w: box.w / width, h: box.h / height };
}

/**
 * Pools one region of image `n` of a feature-map batch laid out [N, F, F, C] (row-major, as TF.js
 * returns it). Plain loops in a fixed order: the same input always gives the same floats.
 */
export function poolRegion(map: Float32Array, n: number, f: number, c: number, cells: CellRange, pooling: Pooling): Float32Array {
  const out = new Float32Array(c);
  const acc = new Float64Array(c);
  if (pooling === 'max') acc.fill(-Infinity);
  const base = n * f * f * c;
  for (let r = cells.r0; r < cells.r1; r++) {
    for (let col = cells.c0; col < cells.c1; col++) {
      const o = base + (r * f + col) * c;
      if (pooling === 'max') for (let k = 0; k < c; k++) acc[k] = Math.max(acc[k], map[o + k]);
      else if (pooling === 'avg') for (let k = 0; k < c; k++) acc[k] += map[o + k];
      else for (let k = 0; k < c; k++) acc[k] += Math.max(0, map[o + k]) ** GEM_P;
    }
  }
  const cells_n = (cells.r1 - cells.r0) * (cells.c1 - cells.c0);
  for (let k = 0; k < c; k++) {
    out[k] = pooling === 'max' ? acc[k] : pooling === 'avg' ? acc[k] / cells_n : (acc[k] / cells_n) ** (1 / GEM_P);
  }
  return out;
}

/** L2-normalises in place (a zero vector stays zero) and returns the same array. */
export function l2Normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < v.length; i++) v[i] *= inv;
  }
  return v;
}

/**
 * Parts (e.g. the pooled cells of a grid) each L2-normalised and scaled by 1/sqrt(parts), laid
 * side by side: a unit vector whose dot products weigh every part alike.
 */
export function concatNormalized(parts: Float32Array[]): Float32Array {
  const width = parts[0]?.length ?? 0;
  const out = new Float32Array(parts.length * width);
  const scale = 1 / Math.sqrt(parts.length);
  parts.forEach((p, i) => {
    const unit = l2Normalize(Float32Array.from(p));
    for (let k = 0; k < width; k++) out[i * width + k] = unit[k] * scale;
  });
  return out;
}
