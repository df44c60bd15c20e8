import type { Box, SeededRandom } from '@loupe/shared';
import type { SourceRaster } from './copy-transforms.ts';
import { frame } from './robust-edits-frame.ts';
import { crop, flip, perspective, quarterTurn, rotate, squash } from './robust-edits-geometry.ts';
import { meme, overlay, pad, paste } from './robust-edits-overlay.ts';
import { blur, brightness, contrast, grayscale, hue, invert, jpeg, noise, pixelate, saturation } from './robust-edits-pixels.ts';
import { MIN_SIDE, checkRaster, fullBox, mapBox, pixelBox, raw, toRaster, type Edit, type EditState } from './robust-edits-raster.ts';

/**
 * A wide, randomised family of copy edits (after Meta's AugLy and the DISC2021 copy-detection
 * challenge): every parameter is drawn per copy, so a benchmark built from them has no fixed edit
 * strength a model could be tuned to.
 */

/** The edit families, in report order. */
export const ROBUST_EDIT_FAMILIES = [
  'crop',
  'flip',
  'rotate',
  'quarter-turn',
  'perspective',
  'squash',
  'pad',
  'meme',
  'overlay',
  'frame',
  'paste',
  'blur',
  'noise',
  'pixelate',
  'jpeg',
  'brightness',
  'contrast',
  'saturation',
  'hue',
  'grayscale',
  'invert',
] as const;

export type RobustEditFamily = (typeof ROBUST_EDIT_FAMILIES)[number];

export interface EditContext {
  /** Another photo, not indexed, for "paste into another photo". */
  background(rng: SeededRandom): Promise<SourceRaster>;
}

export interface EditStep {
  family: RobustEditFamily;
  /** What was done, with its drawn parameters, e.g. 'rotate 17.3deg'. */
  detail: string;
}

export interface EditedCopy {
  /** The encoded copy: JPEG, quality 90 unless the chain's jpeg edit chose one. */
  bytes: Buffer;
  steps: EditStep[];
  /** Part of the source still shown, in source pixels (after crops; undefined when not tracked). */
  sourceBox?: Box;
  /** Where the source's content sits in the output image, in output pixels (undefined when not tracked, e.g. after a rotation). */
  queryRegion?: Box;
}

export interface RobustEditOptions {
  minEdits?: number;
  maxEdits?: number;
  families?: readonly RobustEditFamily[];
}

const EDITS: Record<RobustEditFamily, Edit> = {
  crop,
  flip,
  rotate,
  'quarter-turn': quarterTurn,
  perspective,
  squash,
  pad,
  meme,
  overlay,
  frame,
  paste,
  blur,
  noise,
  pixelate,
  jpeg,
  brightness,
  contrast,
  saturation,
  hue,
  grayscale,
  invert,
};

/**
 * The order a chain applies its edits in, whatever order they were drawn in: what a copier does to
 * the picture's geometry and placement first, then what is drawn over it, then colour, then quality
 * losses, and the JPEG save last.
 */
const APPLICATION_ORDER: readonly RobustEditFamily[] = [
  'crop',
  'flip',
  'quarter-turn',
  'squash',
  'rotate',
  'perspective',
  'pad',
  'paste',
  'frame',
  'meme',
  'overlay',
  'brightness',
  'contrast',
  'saturation',
  'hue',
  'grayscale',
  'invert',
  'blur',
  'pixelate',
  'noise',
  'jpeg',
];

/** Where `family` falls in a chain (lower runs first). */
export function editRank(family: RobustEditFamily): number {
  return APPLICATION_ORDER.indexOf(family);
}

/**
 * A random chain of `minEdits..maxEdits` edits (default 1..3) of distinct families, applied in
 * APPLICATION_ORDER. Every random choice comes from `rng`, so a seed gives the same bytes every run.
 */
export async function applyRandomEdits(src: SourceRaster, rng: SeededRandom, ctx: EditContext, opts: RobustEditOptions = {}): Promise<EditedCopy> {
  checkRaster(src, 'source');
  const pool = [...new Set(opts.families ?? ROBUST_EDIT_FAMILIES)];
  const unknown = pool.filter((f) => !(f in EDITS));
  if (unknown.length > 0) throw new Error(`unknown edit families: ${unknown.join(', ')} (known: ${ROBUST_EDIT_FAMILIES.join(', ')})`);
  const min = opts.minEdits ?? 1;
  const max = Math.min(opts.maxEdits ?? Math.max(3, min), pool.length);
  if (!Number.isInteger(min) || min < 0) throw new Error(`minEdits must be a non-negative integer (got ${min})`);
  if (!Number.isInteger(max) || max < min) {
    throw new Error(`maxEdits must be an integer >= minEdits = ${min} and at most the ${pool.length} families allowed (got ${opts.maxEdits ?? max})`);
  }
  const count = rng.int(min, max);
  const chosen = (rng.shuffle(pool) as RobustEditFamily[]).slice(0, count).sort((a, b) => editRank(a) - editRank(b));

  let state: EditState = { raster: src, sourceBox: fullBox(src), queryRegion: fullBox(src) };
  const steps: EditStep[] = [];
  for (const family of chosen) {
    const { state: next, detail } = await EDITS[family](state, rng, ctx);
    state = next;
    steps.push({ family, detail });
  }
  state = await atLeastMinSide(state);
  const { raster } = state;
  const bytes = await raw(raster).jpeg({ quality: state.jpegQuality ?? 90 }).toBuffer();
  return {
    bytes,
    steps,
    sourceBox: pixelBox(state.sourceBox, src.width, src.height),
    queryRegion: pixelBox(state.queryRegion, raster.width, raster.height),
  };
}

/** Scales a copy up (aspect kept) so neither side is under MIN_SIDE. */
async function atLeastMinSide(state: EditState): Promise<EditState> {
  const { width: W, height: H } = state.raster;
  if (W >= MIN_SIDE && H >= MIN_SIDE) return state;
  const s = MIN_SIDE / Math.min(W, H);
  const width = Math.max(MIN_SIDE, Math.round(W * s));
  const height = Math.max(MIN_SIDE, Math.round(H * s));
  const raster = await toRaster(raw(state.raster).resize(width, height, { fit: 'fill' }));
  return { ...state, raster, queryRegion: mapBox(state.queryRegion, width / W, height / H, 0, 0) };
}
