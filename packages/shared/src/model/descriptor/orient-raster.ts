import type { RgbRaster } from '../../image/canonical-image.ts';

/** Mirror (left-right) or quarter turn (clockwise for rot90) of an image. */
export type RasterOrientation = 'none' | 'flip' | 'rot90' | 'rot270';

/** The raster turned; 'none' returns the same object. */
export function orientRaster(src: RgbRaster, orientation: RasterOrientation): RgbRaster {
  if (orientation === 'none') return src;
  const { width: w, height: h, data } = src;
  const turned = orientation === 'rot90' || orientation === 'rot270';
  const ow = turned ? h : w;
  const oh = turned ? w : h;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      // Source pixel of output (x, y).
      let sx: number;
      let sy: number;
      if (orientation === 'flip') [sx, sy] = [w - 1 - x, y];
      else if (orientation === 'rot90') [sx, sy] = [y, h - 1 - x];
      else [sx, sy] = [w - 1 - y, x];
      const o = (y * ow + x) * 3;
      const i = (sy * w + sx) * 3;
      out[o] = data[i];
      out[o + 1] = data[i + 1];
      out[o + 2] = data[i + 2];
    }
  }
  return { data: out, width: ow, height: oh };
}
