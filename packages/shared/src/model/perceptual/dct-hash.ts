import type { RgbRaster } from '../../image/canonical-image.ts';

/**
 * A perceptual hash of the whole image (pHash generalised to `bits`): the raster in grey, area-
 * averaged to 4k x 4k pixels (k = ceil(sqrt(bits))), 2-D DCT, the k x k lowest frequencies
 * without the DC row and column taken in diagonal order, each bit = coefficient above their
 * median. 64 bits = the classic pHash (32x32, 8x8). It keeps what the CNN codes lose — global
 * tone and layout survive blur, overlaid text and brightness changes — and costs no forward.
 */
export class DctHash {
  readonly side: number;
  private readonly keep: number;
  /** (u, v) of each bit, 1-based frequencies, lowest u + v first. */
  private readonly order: [number, number][];
  /** DCT-II basis [u][x] for u in 0..keep. */
  private readonly basis: Float64Array;

  constructor(readonly bits: number) {
    if (!Number.isInteger(bits) || bits < 8 || bits % 8 !== 0) throw new Error(`dct hash bits must be a multiple of 8, got ${bits}`);
    this.keep = Math.ceil(Math.sqrt(bits));
    this.side = 4 * this.keep;
    const pairs: [number, number][] = [];
    for (let u = 1; u <= this.keep; u++) for (let v = 1; v <= this.keep; v++) pairs.push([u, v]);
    this.order = pairs.sort((a, b) => a[0] + a[1] - (b[0] + b[1]) || a[0] - b[0]).slice(0, bits);
    const n = this.side;
    this.basis = new Float64Array((this.keep + 1) * n);
    for (let u = 0; u <= this.keep; u++) for (let x = 0; x < n; x++) this.basis[u * n + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * n));
  }

  /** The code of a raster, MSB first. */
  hash(raster: RgbRaster): Uint8Array {
    return this.hashGrey(greyThumbnail(raster, this.side));
  }

  /** The code of a side x side grey image (row-major). */
  hashGrey(grey: Float64Array): Uint8Array {
    const n = this.side;
    if (grey.length !== n * n) throw new Error(`dct hash needs ${n}x${n} grey pixels, got ${grey.length}`);
    // Separable: rows[v][x] = sum_y basis[v][y] * p[y][x]; only frequencies up to `keep` are needed.
    const rows = new Float64Array((this.keep + 1) * n);
    for (let v = 1; v <= this.keep; v++) {
      for (let y = 0; y < n; y++) {
        const b = this.basis[v * n + y];
        for (let x = 0; x < n; x++) rows[v * n + x] += b * grey[y * n + x];
      }
    }
    const coeffs = this.order.map(([u, v]) => {
      let s = 0;
      for (let x = 0; x < n; x++) s += this.basis[u * n + x] * rows[v * n + x];
      return s;
    });
    const sorted = [...coeffs].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    const out = new Uint8Array(this.bits / 8);
    coeffs.forEach((c, i) => {
      if (c > median) out[i >> 3] |= 0x80 >> (i & 7);
    });
    return out;
  }
}

/** Luma (BT.601) of a raster, area-averaged to side x side (each output pixel the mean of its box). */
export function greyThumbnail(raster: RgbRaster, side: number): Float64Array {
  const { width: w, height: h, data } = raster;
  const sum = new Float64Array(side * side);
  const count = new Float64Array(side * side);
  const column = Int32Array.from({ length: w }, (_, x) => Math.min(side - 1, Math.floor((x * side) / w)));
  for (let y = 0; y < h; y++) {
    const ty = Math.min(side - 1, Math.floor((y * side) / h));
    for (let x = 0; x < w; x++) {
      const t = ty * side + column[x];
      const o = (y * w + x) * 3;
      sum[t] += 0.299 * data[o] + 0.587 * data[o + 1] + 0.114 * data[o + 2];
      count[t]++;
    }
  }
  for (let i = 0; i < sum.length; i++) sum[i] = count[i] ? sum[i] / count[i] : 0;
  return sum;
}

/** greyThumbnail rounded to bytes: what a pixel level stores and PixelVerifier compares. */
export function greyThumbnailBytes(raster: RgbRaster, side: number): Uint8Array {
  return Uint8Array.from(greyThumbnail(raster, side), (v) => Math.min(255, Math.round(v)));
}
