import sharp from 'sharp';
import type { Box, SeededRandom } from '@loupe/shared';
import type { SourceRaster } from './copy-transforms.ts';
import type { EditContext } from './robust-edits.ts';

/** Smallest side an edited copy may have (the encoder's inputs are larger; tinier copies are not copies). */
export const MIN_SIDE = 32;

/** A chain's working state: the current picture and where the source's content sits in it. */
export interface EditState {
  raster: SourceRaster;
  /** Part of the source still shown, in source pixels (fractional until the chain ends). */
  sourceBox?: Box;
  /** Where sourceBox's content sits in `raster`, in raster pixels (fractional until the chain ends). */
  queryRegion?: Box;
  /** Content mirrored or turned since the source: raster boxes no longer map to source boxes by scaling. */
  reoriented?: boolean;
  /** Set by the jpeg edit: the quality the chain's output is saved with. */
  jpegQuality?: number;
}

export interface EditOutcome {
  state: EditState;
  detail: string;
}

/** One family's edit: every random choice comes from `rng`, so a seed always gives the same copy. */
export type Edit = (state: EditState, rng: SeededRandom, ctx: EditContext) => Promise<EditOutcome>;

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export function raw(src: SourceRaster): sharp.Sharp {
  return sharp(src.data, { raw: { width: src.width, height: src.height, channels: 3 } });
}

/** The raster input of sharp's composite for `src` placed at (left, top). */
export function rasterOverlay(src: SourceRaster, left: number, top: number): sharp.OverlayOptions {
  return { input: src.data, raw: { width: src.width, height: src.height, channels: 3 }, left, top };
}

/** Runs a pipeline back to packed sRGB (grey or alpha results are widened / dropped here, once). */
export async function toRaster(img: sharp.Sharp): Promise<SourceRaster> {
  const { data, info } = await img.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  if (channels === 3) return { data, width, height };
  const out = Buffer.alloc(width * height * 3);
  const grey = channels < 3;
  for (let i = 0, o = 0; o < out.length; i += channels, o += 3) {
    out[o] = data[i];
    out[o + 1] = grey ? data[i] : data[i + 1];
    out[o + 2] = grey ? data[i] : data[i + 2];
  }
  return { data: out, width, height };
}

export function checkRaster(src: SourceRaster, what: string): void {
  const { width, height, data } = src;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || data.length !== width * height * 3) {
    throw new Error(`${what} must be packed RGB with data.length = width * height * 3 (got ${width}x${height}, ${data.length} bytes)`);
  }
}

export function fullBox(src: SourceRaster): Box {
  return { x: 0, y: 0, w: src.width, h: src.height };
}

/** `b` scaled by (sx, sy) then moved by (dx, dy); undefined stays undefined (not tracked). */
export function mapBox(b: Box | undefined, sx: number, sy: number, dx: number, dy: number): Box | undefined {
  return b && { x: b.x * sx + dx, y: b.y * sy + dy, w: b.w * sx, h: b.h * sy };
}

export function intersect(a: Box, b: Box): Box | undefined {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const w = Math.min(a.x + a.w, b.x + b.w) - x;
  const h = Math.min(a.y + a.h, b.y + b.h) - y;
  return w > 0 && h > 0 ? { x, y, w, h } : undefined;
}

/** A whole-pixel box inside a `width` x `height` image, or undefined when nothing of it is inside. */
export function pixelBox(b: Box | undefined, width: number, height: number): Box | undefined {
  if (!b) return undefined;
  const x0 = Math.max(0, Math.round(b.x));
  const y0 = Math.max(0, Math.round(b.y));
  const x1 = Math.min(width, Math.round(b.x + b.w));
  const y1 = Math.min(height, Math.round(b.y + b.h));
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : undefined;
}

/** The state after a whole-picture scaling and translation (pad, meme, frame, paste, squash). */
export function movedState(state: EditState, raster: SourceRaster, sx: number, sy: number, dx: number, dy: number): EditState {
  return { ...state, raster, queryRegion: mapBox(state.queryRegion, sx, sy, dx, dy) };
}

export function randomColour(rng: SeededRandom): Rgb {
  return { r: rng.int(0, 255), g: rng.int(0, 255), b: rng.int(0, 255) };
}

/** A random colour, or black or white (the fills editors offer first). */
export function fillColour(rng: SeededRandom): Rgb {
  const kind = rng.int(0, 2);
  if (kind === 0) return { r: 0, g: 0, b: 0 };
  if (kind === 1) return { r: 255, g: 255, b: 255 };
  return randomColour(rng);
}

export function css(c: Rgb): string {
  return `rgb(${c.r},${c.g},${c.b})`;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** DejaVu Sans (the font this machine renders SVG text with), bold or not. */
export function svgText(x: number, y: number, size: number, text: string, attrs: string): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="DejaVu Sans, sans-serif" font-size="${size.toFixed(1)}" ${attrs}>${escapeXml(text)}</text>`;
}

export function svg(width: number, height: number, body: string): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`);
}

/** Rough advance of DejaVu Sans Bold per character, in ems (upper case is wider than lower). */
export const BOLD_ADVANCE = 0.72;
