import type { RgbRaster } from '../../image/canonical-image.ts';

/**
 * A tilted copy turned back. `src` is the squashed canonical raster of a width x height image that is
 * taken to be a picture rotated clockwise by `degrees` about its centre, the canvas grown to hold it
 * (what an editor's "rotate" does); the result is that picture as the index saw it: the rotation
 * undone, the grown canvas cut away, squashed back to src's side. A copy tilted by a few degrees more
 * or less comes back tilted by the difference only; corners outside src repeat its edge.
 */
export function untiltRaster(src: RgbRaster, degrees: number, width: number, height: number): RgbRaster {
  const t = (degrees * Math.PI) / 180;
  const [c, s] = [Math.cos(t), Math.sin(t)];
  const [as, det] = [Math.abs(s), c * c - s * s];
  // The picture's size from its grown canvas (W c + H |s|, W |s| + H c), never below a fifth of it.
  const pw = Math.max(0.2 * width, (width * c - height * as) / det);
  const ph = Math.max(0.2 * height, (height * c - width * as) / det);
  const { width: sw, height: sh, data } = src;
  const out = new Uint8Array(data.length);
  // Output pixel -> picture coordinates about its centre -> rotated into the canvas -> src pixel.
  // Per-column products hoisted, and `| 0` for floor and round of these non-negative values (the
  // Math calls took half the time); the same bytes as the plain formulas.
  const xc = new Float64Array(sw);
  const xs = new Float64Array(sw);
  for (let u = 0; u < sw; u++) {
    const x = ((u + 0.5) / sw - 0.5) * pw;
    xc[u] = x * c;
    xs[u] = x * s;
  }
  const row = sw * 3;
  const [maxX, maxY] = [sw - 1, sh - 1];
  for (let v = 0, o = 0; v < sh; v++) {
    const y = ((v + 0.5) / sh - 0.5) * ph;
    const [ys, yc] = [y * s, y * c];
    for (let u = 0; u < sw; u++, o += 3) {
      // Bilinear sample, edges repeated.
      let sx = ((xc[u] - ys) / width + 0.5) * sw - 0.5;
      let sy = ((xs[u] + yc) / height + 0.5) * sh - 0.5;
      sx = sx < 0 ? 0 : sx > maxX ? maxX : sx;
      sy = sy < 0 ? 0 : sy > maxY ? maxY : sy;
      const x0 = Math.min(sx | 0, sw - 2);
      const y0 = Math.min(sy | 0, sh - 2);
      const fx = sx - x0;
      const fy = sy - y0;
      const i00 = (y0 * sw + x0) * 3;
      const i01 = i00 + row;
      for (let k = 0; k < 3; k++) {
        const top = data[i00 + k] + (data[i00 + 3 + k] - data[i00 + k]) * fx;
        const bottom = data[i01 + k] + (data[i01 + 3 + k] - data[i01 + k]) * fx;
        out[o + k] = (top + (bottom - top) * fy + 0.5) | 0;
      }
    }
  }
  return { data: out, width: sw, height: sh };
}
