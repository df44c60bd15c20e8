import type { RgbRaster } from '../../image/canonical-image.ts';

/** A channel may differ this much from the border colour (JPEG ringing, gradients of a scan). */
const TOLERANCE = 24;
/** Share of a row or column that must match the border colour for it to count as border. */
const MATCH = 0.98;
/** Never trim to less than this share of either side (a flat sky is not a frame). */
const MIN_KEEP = 0.4;

/**
 * The raster without a uniform frame (padding, letterbox bars): rows and columns from each edge
 * inward are dropped while nearly all their pixels match the colour of the top-left corner. A
 * raster without a frame comes back as the same object.
 */
export function trimBorders(src: RgbRaster): RgbRaster {
  const { width: w, height: h, data } = src;
  const ref = [data[0], data[1], data[2]];
  const near = (i: number) => Math.abs(data[i] - ref[0]) <= TOLERANCE && Math.abs(data[i + 1] - ref[1]) <= TOLERANCE && Math.abs(data[i + 2] - ref[2]) <= TOLERANCE;
  // `count` pixels from pixel index `start`, `step` apart: a row (step 1) or a column (step w).
  const isBorder = (start: number, step: number, count: number) => {
    let n = 0;
    for (let k = 0; k < count; k++) if (near((start + k * step) * 3)) n++;
    return n >= MATCH * count;
  };
  const rowIsBorder = (y: number) => isBorder(y * w, 1, w);
  const colIsBorder = (x: number, y0: number, y1: number) => isBorder(y0 * w + x, w, y1 - y0);
  const maxTrimY = Math.floor(h * (1 - MIN_KEEP));
  const maxTrimX = Math.floor(w * (1 - MIN_KEEP));
  let [top, bottom, left, right] = [0, h, 0, w];
  while (top + (h - bottom) < maxTrimY && rowIsBorder(top)) top++;
  while (top + (h - bottom) < maxTrimY && rowIsBorder(bottom - 1)) bottom--;
  while (left + (w - right) < maxTrimX && colIsBorder(left, top, bottom)) left++;
  while (left + (w - right) < maxTrimX && colIsBorder(right - 1, top, bottom)) right--;
  if (top === 0 && bottom === h && left === 0 && right === w) return src;
  const ow = right - left;
  const oh = bottom - top;
  const out = new Uint8Array(ow * oh * 3);
  for (let y = 0; y < oh; y++) out.set(data.subarray(((top + y) * w + left) * 3, ((top + y) * w + right) * 3), y * ow * 3);
  return { data: out, width: ow, height: oh };
}
