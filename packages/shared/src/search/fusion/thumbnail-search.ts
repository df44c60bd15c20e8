/** A grey image, row-major. */
export interface GreyImage {
  width: number;
  height: number;
  data: Float64Array | Uint8Array;
}

/** Where a query's pixels fit a thumbnail best. */
export interface ThumbnailMatch {
  /** Normalised cross-correlation of the query (resampled to the window) with the window, in [-1, 1]. */
  ncc: number;
  /** The window, in thumbnail pixels. */
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Window sizes tried: widths from MIN_WIDTH of the thumbnail to all of it, in geometric steps. */
const MIN_WIDTH = 0.22;
const SIZE_STEPS = 12;
/** Windows narrower or lower than this many thumbnail pixels say too little to count. */
const MIN_WINDOW_PX = 6;
/**
 * Windows at least this wide are first tried every other position, then around the best one (their
 * correlation peak is wider than a pixel); narrower ones, a small crop's, at every position (tried
 * coarsely, 10% crops lost 1.7 points on the benchmark).
 */
const COARSE_FROM_PX = 24;

/**
 * The best window of `thumb` for the whole query image: the query resampled to each window size
 * (widths MIN_WIDTH..1 of the thumbnail; height from `aspect` = window height / width in thumbnail
 * pixels) and slid over the thumbnail (wide windows every other position, then around the best), scored by
 * normalised cross-correlation (summed-area tables give each window's mean and variance). Null when
 * every window or the query is flat.
 */
export function searchThumbnail(query: GreyImage, thumb: GreyImage, aspect: number): ThumbnailMatch | null {
  const { width: S, height: T } = thumb;
  const pixels = Float64Array.from(thumb.data);
  const [sum, sq] = summedAreas(thumb);
  let best: ThumbnailMatch | null = null;
  const seen = new Set<string>();
  for (let k = 0; k < SIZE_STEPS; k++) {
    const wu = MIN_WIDTH * Math.pow(1 / MIN_WIDTH, k / (SIZE_STEPS - 1));
    let w = Math.round(wu * S);
    let h = Math.round(wu * aspect * T);
    if (h > T) [w, h] = [Math.round((w * T) / h), T];
    if (w < MIN_WINDOW_PX || h < MIN_WINDOW_PX || w > S || seen.has(`${w}x${h}`)) continue;
    seen.add(`${w}x${h}`);
    const template = centred(resampleGrey(query, w, h));
    if (!template) continue;
    const n = w * h;
    const { data: tpl, norm } = template;
    const score = (x: number, y: number): number => {
      const a = y * (S + 1) + x;
      const b = a + w;
      const c = a + h * (S + 1);
      const s = sum[c + w] - sum[b] - sum[c] + sum[a];
      const variance = sq[c + w] - sq[b] - sq[c] + sq[a] - (s * s) / n;
      if (variance < 1e-6 * n) return -Infinity;
      return correlate(tpl, w, h, pixels, S, y * S + x) / (norm * Math.sqrt(variance));
    };
    const step = w >= COARSE_FROM_PX ? 2 : 1;
    let size: ThumbnailMatch | null = null;
    for (let y = 0; y + h <= T; y += step)
      for (let x = 0; x + w <= S; x += step) {
        const ncc = score(x, y);
        if (!size || ncc > size.ncc) size = { ncc, x, y, w, h };
      }
    if (!size) continue;
    const { x: cx, y: cy } = size;
    if (step > 1) {
      for (let y = Math.max(0, cy - 1); y <= Math.min(T - h, cy + 1); y++)
        for (let x = Math.max(0, cx - 1); x <= Math.min(S - w, cx + 1); x++) {
          const ncc = score(x, y);
          if (ncc > size.ncc) size = { ncc, x, y, w, h };
        }
    }
    if (size.ncc > -Infinity && (!best || size.ncc > best.ncc)) best = size;
  }
  return best;
}

/**
 * Sum of template x the image window at `at` (its top-left index; the image `stride` wide). Four
 * running sums: one would wait on each add (about 3x slower); the order is fixed, so the same inputs
 * always give the same sum.
 */
function correlate(tpl: Float64Array, w: number, h: number, pixels: Float64Array, stride: number, at: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const w4 = w - (w % 4);
  for (let j = 0, t = 0, row = at; j < h; j++, row += stride, t += w) {
    let i = 0;
    for (; i < w4; i += 4) {
      s0 += tpl[t + i] * pixels[row + i];
      s1 += tpl[t + i + 1] * pixels[row + i + 1];
      s2 += tpl[t + i + 2] * pixels[row + i + 2];
      s3 += tpl[t + i + 3] * pixels[row + i + 3];
    }
    for (; i < w; i++) s0 += tpl[t + i] * pixels[row + i];
  }
  return s0 + s1 + (s2 + s3);
}

/** Area-average resample (each output pixel the mean of the source pixels its box starts in). */
export function resampleGrey(src: GreyImage, w: number, h: number): GreyImage {
  const out = new Float64Array(w * h);
  const [sx, sy] = [src.width / w, src.height / h];
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor(y * sy);
    const y1 = Math.max(y0 + 1, Math.floor((y + 1) * sy));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor(x * sx);
      const x1 = Math.max(x0 + 1, Math.floor((x + 1) * sx));
      let s = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) s += src.data[yy * src.width + xx];
      out[y * w + x] = s / ((y1 - y0) * (x1 - x0));
    }
  }
  return { width: w, height: h, data: out };
}

/** The image minus its mean, with its norm; null when flat. */
function centred(img: GreyImage): { data: Float64Array; norm: number } | null {
  const data = Float64Array.from(img.data);
  const mean = data.reduce((a, b) => a + b, 0) / data.length;
  let norm = 0;
  for (let i = 0; i < data.length; i++) {
    data[i] -= mean;
    norm += data[i] * data[i];
  }
  norm = Math.sqrt(norm);
  return norm < 1e-3 * Math.sqrt(data.length) ? null : { data, norm };
}

/** Summed-area tables of the values and their squares, (width + 1) x (height + 1). */
function summedAreas(img: GreyImage): [Float64Array, Float64Array] {
  const { width: S, height: T, data } = img;
  const sum = new Float64Array((S + 1) * (T + 1));
  const sq = new Float64Array((S + 1) * (T + 1));
  for (let y = 0; y < T; y++)
    for (let x = 0; x < S; x++) {
      const v = data[y * S + x];
      const i = (y + 1) * (S + 1) + x + 1;
      sum[i] = v + sum[i - 1] + sum[i - S - 1] - sum[i - S - 2];
      sq[i] = v * v + sq[i - 1] + sq[i - S - 1] - sq[i - S - 2];
    }
  return [sum, sq];
}
