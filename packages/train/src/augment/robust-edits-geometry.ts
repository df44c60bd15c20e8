import type { Box, SeededRandom } from '@loupe/shared';
import type { SourceRaster } from './copy-transforms.ts';
import { MIN_SIDE, fillColour, intersect, movedState, raw, toRaster, type Edit, type EditState, type Rgb } from './robust-edits-raster.ts';

/**
 * A crop of 3-60% of the picture's area (log-uniform, so small crops are as common as large ones),
 * aspect ratio within 1.5x of the picture's, anywhere.
 */
export const crop: Edit = async (state, rng) => {
  const { width: W, height: H } = state.raster;
  const area = Math.exp(rng.uniform(Math.log(0.03), Math.log(0.6)));
  const aspect = Math.exp(rng.uniform(-Math.log(1.5), Math.log(1.5)));
  // area * aspect <= 0.9, so the box always fits before the minimum side is applied.
  const w = Math.min(W, Math.max(Math.min(MIN_SIDE, W), Math.round(W * Math.sqrt(area * aspect))));
  const h = Math.min(H, Math.max(Math.min(MIN_SIDE, H), Math.round(H * Math.sqrt(area / aspect))));
  const box = { x: rng.int(0, W - w), y: rng.int(0, H - h), w, h };
  const raster = await toRaster(raw(state.raster).extract({ left: box.x, top: box.y, width: w, height: h }));
  return { state: { ...state, raster, ...croppedRegions(state, box) }, detail: `crop ${((w * h) / (W * H)).toFixed(3)}` };
};

/** Where the source is after cutting `box` out of the picture (raster boxes map to source boxes by scaling). */
function croppedRegions(state: EditState, box: Box): Pick<EditState, 'sourceBox' | 'queryRegion'> {
  const { sourceBox: s, queryRegion: q } = state;
  const shown = q && intersect(q, box);
  if (!shown) return { sourceBox: undefined, queryRegion: undefined };
  const queryRegion = { x: shown.x - box.x, y: shown.y - box.y, w: shown.w, h: shown.h };
  if (!s || state.reoriented) return { sourceBox: undefined, queryRegion };
  const sx = s.w / q.w;
  const sy = s.h / q.h;
  return { sourceBox: { x: s.x + (shown.x - q.x) * sx, y: s.y + (shown.y - q.y) * sy, w: shown.w * sx, h: shown.h * sy }, queryRegion };
}

/** A mirror image, mostly left-right (upside-down mirrors are rarer in the wild). */
export const flip: Edit = async (state, rng) => {
  const { width: W, height: H } = state.raster;
  const horizontal = rng.next() < 0.8;
  const raster = await toRaster(horizontal ? raw(state.raster).flop() : raw(state.raster).flip());
  const q = state.queryRegion;
  const queryRegion = q && (horizontal ? { ...q, x: W - q.x - q.w } : { ...q, y: H - q.y - q.h });
  return { state: { ...state, raster, queryRegion, reoriented: true }, detail: horizontal ? 'flip horizontal' : 'flip vertical' };
};

/** A tilt of 3-30 degrees either way; the canvas grows to hold the corners, filled with one colour. */
export const rotate: Edit = async (state, rng) => {
  const angle = rng.sign() * rng.uniform(3, 30);
  const background = fillColour(rng);
  const raster = await toRaster(raw(state.raster).rotate(angle, { background }));
  return { state: { ...state, raster, queryRegion: undefined, reoriented: true }, detail: `rotate ${angle.toFixed(1)}deg` };
};

/** A turn by 90, 180 or 270 degrees clockwise; the region turns with the picture, exactly. */
export const quarterTurn: Edit = async (state, rng) => {
  const { width: W, height: H } = state.raster;
  const turn = rng.pick([90, 180, 270] as const);
  const raster = await toRaster(raw(state.raster).rotate(turn));
  const q = state.queryRegion;
  let queryRegion: Box | undefined;
  if (q && turn === 90) queryRegion = { x: H - q.y - q.h, y: q.x, w: q.h, h: q.w };
  else if (q && turn === 180) queryRegion = { x: W - q.x - q.w, y: H - q.y - q.h, w: q.w, h: q.h };
  else if (q) queryRegion = { x: q.y, y: W - q.x - q.w, w: q.h, h: q.w };
  return { state: { ...state, raster, queryRegion, reoriented: true }, detail: `quarter-turn ${turn}` };
};

/** Either a shear of 0.1-0.3 along one axis (canvas grows) or a perspective warp of the whole picture. */
export const perspective: Edit = async (state, rng) => {
  const background = fillColour(rng);
  if (rng.next() < 0.5) {
    const k = rng.sign() * rng.uniform(0.1, 0.3);
    const horizontal = rng.next() < 0.5;
    const matrix: [number, number, number, number] = horizontal ? [1, k, 0, 1] : [1, 0, k, 1];
    const raster = await toRaster(raw(state.raster).affine(matrix, { background }));
    return { state: { ...state, raster, queryRegion: undefined, reoriented: true }, detail: `shear ${horizontal ? 'x' : 'y'} ${k.toFixed(2)}` };
  }
  const strength = rng.uniform(0.08, 0.3);
  const raster = warp(state.raster, strength, background, rng);
  return { state: { ...state, raster, queryRegion: undefined, reoriented: true }, detail: `perspective ${strength.toFixed(2)}` };
};

/** One axis scaled by 0.5-0.8 or stretched by 1.25-2; the other kept. */
export const squash: Edit = async (state, rng) => {
  const { width: W, height: H } = state.raster;
  const alongX = rng.next() < 0.5;
  const factor = rng.next() < 0.5 ? rng.uniform(0.5, 0.8) : rng.uniform(1.25, 2);
  const width = alongX ? Math.max(MIN_SIDE, Math.round(W * factor)) : W;
  const height = alongX ? H : Math.max(MIN_SIDE, Math.round(H * factor));
  const raster = await toRaster(raw(state.raster).resize(width, height, { fit: 'fill' }));
  return { state: movedState(state, raster, width / W, height / H, 0, 0), detail: `squash ${alongX ? 'x' : 'y'} ${factor.toFixed(2)}` };
};

/**
 * The picture seen at an angle: its corners move inwards by up to `strength` of the width / height
 * (each its own amount), the picture is resampled through the homography that maps the canvas
 * onto that quadrilateral, and what falls outside it is filled with `background`.
 */
function warp(src: SourceRaster, strength: number, background: Rgb, rng: SeededRandom): SourceRaster {
  const { width: W, height: H, data } = src;
  const inset = () => rng.uniform(0, strength);
  const to: [number, number][] = [
    [inset() * W, inset() * H],
    [W - inset() * W, inset() * H],
    [W - inset() * W, H - inset() * H],
    [inset() * W, H - inset() * H],
  ];
  const from: [number, number][] = [
    [0, 0],
    [W, 0],
    [W, H],
    [0, H],
  ];
  const m = homography(to, from);
  const out = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const d = m[6] * px + m[7] * py + 1;
      const u = (m[0] * px + m[1] * py + m[2]) / d - 0.5;
      const v = (m[3] * px + m[4] * py + m[5]) / d - 0.5;
      const o = (y * W + x) * 3;
      if (u < -0.5 || v < -0.5 || u > W - 0.5 || v > H - 0.5) {
        out[o] = background.r;
        out[o + 1] = background.g;
        out[o + 2] = background.b;
        continue;
      }
      // Bilinear, with coordinates clamped to the outermost pixel centres.
      const cu = Math.min(W - 1, Math.max(0, u));
      const cv = Math.min(H - 1, Math.max(0, v));
      const x0 = Math.min(W - 2, Math.floor(cu));
      const y0 = Math.min(H - 2, Math.floor(cv));
      const fx = W > 1 ? cu - x0 : 0;
      const fy = H > 1 ? cv - y0 : 0;
      const i00 = (Math.max(0, y0) * W + Math.max(0, x0)) * 3;
      const i01 = i00 + (W > 1 ? 3 : 0);
      const i10 = i00 + (H > 1 ? W * 3 : 0);
      const i11 = i10 + (W > 1 ? 3 : 0);
      for (let c = 0; c < 3; c++) {
        const top = data[i00 + c] + (data[i01 + c] - data[i00 + c]) * fx;
        const bottom = data[i10 + c] + (data[i11 + c] - data[i10 + c]) * fx;
        out[o + c] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return { data: out, width: W, height: H };
}

/** The 3x3 homography (h22 = 1, row-major, 8 numbers) mapping each point of `a` onto the same point of `b`. */
export function homography(a: [number, number][], b: [number, number][]): number[] {
  const rows: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = a[i];
    const [u, v] = b[i];
    rows.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    rows.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  // Gauss-Jordan elimination with partial pivoting on the 8x9 augmented matrix.
  for (let col = 0; col < 8; col++) {
    let pivot = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(rows[r][col]) > Math.abs(rows[pivot][col])) pivot = r;
    if (Math.abs(rows[pivot][col]) < 1e-12) throw new Error('homography: the corner points are degenerate');
    [rows[col], rows[pivot]] = [rows[pivot], rows[col]];
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const f = rows[r][col] / rows[col][col];
      for (let c = col; c < 9; c++) rows[r][c] -= f * rows[col][c];
    }
  }
  return rows.map((row, i) => row[8] / row[i]);
}
