import type { RgbRaster } from '../../image/canonical-image.ts';
import type { Box } from '../../view/view-plan.ts';

/**
 * Backbone inputs made from rasters in plain JS, the same on every runtime: RGB bytes to floats
 * in [0, 1], brought to the forward's side. They reproduce the TF.js ops the descriptors were
 * defined with (to float rounding), so codes do not depend on where the resampling ran:
 * - the raster's own size: a copy;
 * - half its size (448 -> 224): the exact 2x2 average (tf.avgPool 2x2 VALID), which anti-aliases;
 * - any other side: bilinear with half-pixel centres (tf.image.resizeBilinear(.., false, true)).
 * Each writes side * side * 3 floats into `out` at `offset` (one image of an NHWC batch).
 */
export function writeRasterInput(raster: RgbRaster, side: number, out: Float32Array, offset: number): void {
  const { width: w, height: h, data } = raster;
  if (w === side && h === side) {
    for (let i = 0; i < side * side * 3; i++) out[offset + i] = data[i] / 255;
  } else if (w === h && w === 2 * side) {
    const row = w * 3;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const s = (2 * y * w + 2 * x) * 3;
        const o = offset + (y * side + x) * 3;
        for (let c = 0; c < 3; c++) {
          out[o + c] = (data[s + c] / 255 + data[s + 3 + c] / 255 + data[s + row + c] / 255 + data[s + row + 3 + c] / 255) / 4;
        }
      }
    }
  } else {
    const halfPixel: SourceCoordinate = (i, inSize) => (inSize / side) * (i + 0.5) - 0.5;
    resampleBilinear(raster, side, out, offset, halfPixel, halfPixel, false);
  }
}

/**
 * The part of the raster in `unit` (fractions of the image) resized to side x side, as
 * tf.image.cropAndResize(.., 'bilinear') samples it: corners aligned to the box's edge pixels.
 */
export function writeCropInput(raster: RgbRaster, unit: Box, side: number, out: Float32Array, offset: number): void {
  const along =
    (start: number, extent: number): SourceCoordinate =>
    (i, inSize) =>
      side > 1 ? start * (inSize - 1) + (i * extent * (inSize - 1)) / (side - 1) : (start + extent / 2) * (inSize - 1);
  resampleBilinear(raster, side, out, offset, along(unit.y, unit.h), along(unit.x, unit.w), true);
}

/** Source coordinate of output pixel `i` along an axis of `inSize` source pixels. */
type SourceCoordinate = (i: number, inSize: number) => number;

function resampleBilinear(raster: RgbRaster, side: number, out: Float32Array, offset: number, ys: SourceCoordinate, xs: SourceCoordinate, zeroOutside: boolean): void {
  const { width: w, height: h, data } = raster;
  const axis = (size: number, coordinate: SourceCoordinate) => {
    const lo = new Int32Array(side);
    const hi = new Int32Array(side);
    const frac = new Float64Array(side);
    const inside = new Uint8Array(side);
    for (let i = 0; i < side; i++) {
      const v = coordinate(i, size);
      inside[i] = v >= 0 && v <= size - 1 ? 1 : 0;
      const f = Math.floor(v);
      lo[i] = Math.max(0, f);
      hi[i] = Math.min(size - 1, Math.ceil(v));
      frac[i] = v - f;
    }
    return { lo, hi, frac, inside };
  };
  const Y = axis(h, ys);
  const X = axis(w, xs);
  for (let y = 0; y < side; y++) {
    const top = Y.lo[y] * w * 3;
    const bottom = Y.hi[y] * w * 3;
    const fy = Y.frac[y];
    for (let x = 0; x < side; x++) {
      const o = offset + (y * side + x) * 3;
      if (zeroOutside && !(Y.inside[y] && X.inside[x])) {
        out[o] = out[o + 1] = out[o + 2] = 0;
        continue;
      }
      const l = X.lo[x] * 3;
      const r = X.hi[x] * 3;
      const fx = X.frac[x];
      for (let c = 0; c < 3; c++) {
        const tl = data[top + l + c] / 255;
        const tr = data[top + r + c] / 255;
        const bl = data[bottom + l + c] / 255;
        const br = data[bottom + r + c] / 255;
        const t = tl + (tr - tl) * fx;
        const b = bl + (br - bl) * fx;
        out[o + c] = t + (b - t) * fy;
      }
    }
  }
}
