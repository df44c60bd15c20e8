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
  // Source pixel index of output (x, y): i = (sy * w + sx) * 3, stepping by `dx` along an output row.
  const [first, dy, dx] =
    orientation === 'flip' ? [(w - 1) * 3, w * 3, -3] : orientation === 'rot90' ? [(h - 1) * w * 3, 3, -w * 3] : [(w - 1) * 3, -3, w * 3];
  for (let y = 0, o = 0; y < oh; y++) {
    for (let x = 0, i = first + y * dy; x < ow; x++, o += 3, i += dx) {
      out[o] = data[i];
      out[o + 1] = data[i + 1];
      out[o + 2] = data[i + 2];
    }
  }
  return { data: out, width: ow, height: oh };
}
