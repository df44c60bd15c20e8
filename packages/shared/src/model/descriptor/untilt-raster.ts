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
  for (let v = 0; v < sh; v++) {
    for (let u = 0; u < sw; u++) {
      // Output pixel -> picture coordinates about its centre -> rotated into the canvas -> src pixel.
      const x = ((u + 0.5) / sw - 0.5) * pw;
      const y = ((v + 0.5) / sh - 0.5) * ph;
      const sx = ((x * c - y * s) / width + 0.5) * sw - 0.5;
      const sy = ((x * s + y * c) / height + 0.5) * sh - 0.5;
      sampleBilinear(data, sw, sh, sx, sy, out, (v * sw + u) * 3);
    }
  }
  return { data: out, width: sw, height: sh };
}

function sampleBilinear(data: Uint8Array, w: number, h: number, x: number, y: number, out: Uint8Array, o: number): void {
  const cx = Math.min(Math.max(x, 0), w - 1);
  const cy = Math.min(Math.max(y, 0), h - 1);
  const x0 = Math.min(Math.floor(cx), w - 2);
  const y0 = Math.min(Math.floor(cy), h - 2);
  const [fx, fy] = [cx - x0, cy - y0];
  const i00 = (y0 * w + x0) * 3;
  const i10 = i00 + 3;
  const i01 = i00 + w * 3;
  const i11 = i01 + 3;
  for (let k = 0; k < 3; k++) {
    const top = data[i00 + k] + (data[i10 + k] - data[i00 + k]) * fx;
    const bottom = data[i01 + k] + (data[i11 + k] - data[i01 + k]) * fx;
    out[o + k] = Math.round(top + (bottom - top) * fy);
  }
}
