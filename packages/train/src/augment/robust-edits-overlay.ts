import type { SeededRandom } from '@loupe/shared';
import {
  BOLD_ADVANCE,
  MIN_SIDE,
  checkRaster,
  css,
  fillColour,
  movedState,
  randomColour,
  raw,
  rasterOverlay,
  svg,
  svgText,
  toRaster,
  type Edit,
  type Rgb,
} from './robust-edits-raster.ts';

const MEME_WORDS = ['WHEN', 'YOU', 'ME', 'NOBODY', 'MONDAY', 'SUCH', 'WOW', 'ONE', 'DOES', 'NOT', 'SIMPLY', 'EPIC', 'FAIL', 'LIKE', 'THAT', 'MOMENT', 'WHY', 'OK', 'LOL', 'MOOD', 'ME TOO', 'BRO'];
const OVERLAY_WORDS = ['COPY', 'sale', 'hello', '2026', 'SAMPLE', 'photo', 'wow', 'news', 'do not share', 'lol', 'repost', '@someone', '#tbt', 'BREAKING', 'free', 'via app', '© stock'];

/** A border of 5-40% on each side (each its own), one colour or a blurred, stretched copy of the picture. */
export const pad: Edit = async (state, rng) => {
  const { width: W, height: H } = state.raster;
  const side = (n: number) => Math.round(n * rng.uniform(0.05, 0.4));
  const [top, bottom, left, right] = [side(H), side(H), side(W), side(W)];
  const width = W + left + right;
  const height = H + top + bottom;
  let raster;
  let fill: string;
  if (rng.next() < 0.6) {
    const background = randomColour(rng);
    raster = await toRaster(raw(state.raster).extend({ top, bottom, left, right, background }));
    fill = css(background);
  } else {
    const sigma = Math.max(4, 0.04 * Math.max(width, height));
    const blurred = await toRaster(raw(state.raster).resize(width, height, { fit: 'fill' }).blur(sigma));
    raster = await toRaster(raw(blurred).composite([rasterOverlay(state.raster, left, top)]));
    fill = 'blurred';
  }
  return { state: movedState(state, raster, 1, 1, left, top), detail: `pad ${top}/${right}/${bottom}/${left} ${fill}` };
};

/** White or black bars above and below (10-25% of the height each), each with 1-3 bold words. */
export const meme: Edit = async (state, rng) => {
  const { width: W, height: H } = state.raster;
  const dark = rng.next() < 0.5;
  const bar = () => Math.max(12, Math.round(H * rng.uniform(0.1, 0.25)));
  const [top, bottom] = [bar(), bar()];
  const background = dark ? { r: 0, g: 0, b: 0 } : { r: 255, g: 255, b: 255 };
  const extended = await toRaster(raw(state.raster).extend({ top, bottom, left: 0, right: 0, background }));
  const words = () => Array.from({ length: rng.int(1, 3) }, () => rng.pick(MEME_WORDS)).join(' ');
  const captions = [words(), words()];
  // Impact-style: white with a black outline on black bars; black on white bars.
  const paint = dark ? 'fill="white" stroke="black"' : 'fill="black" stroke="black"';
  const line = (text: string, barTop: number, barHeight: number) => {
    const size = Math.min(0.62 * barHeight, (0.94 * W) / (BOLD_ADVANCE * text.length));
    const attrs = `font-weight="bold" text-anchor="middle" ${paint} stroke-width="${Math.max(1, size / 18).toFixed(1)}"`;
    return svgText(W / 2, barTop + barHeight / 2 + 0.36 * size, size, text, attrs);
  };
  const overlay = svg(W, extended.height, line(captions[0], 0, top) + line(captions[1], top + H, bottom));
  const raster = await toRaster(raw(extended).composite([{ input: overlay, left: 0, top: 0 }]));
  return { state: movedState(state, raster, 1, 1, 0, top), detail: `meme ${dark ? 'black' : 'white'} "${captions[0]}" / "${captions[1]}"` };
};

/** Text at a random place, size and colour, or 1-5 shapes (circles, stars, rounded boxes, smileys) over up to ~20% of the area. */
export const overlay: Edit = async (state, rng) => {
  const { width: W, height: H } = state.raster;
  const text = rng.next() < 0.5;
  const body = text ? textLayer(W, H, rng) : shapeLayer(W, H, rng);
  const raster = await toRaster(raw(state.raster).composite([{ input: svg(W, H, body.svg), left: 0, top: 0 }]));
  return { state: { ...state, raster }, detail: `overlay ${body.detail}` };
};

function textLayer(W: number, H: number, rng: SeededRandom): { svg: string; detail: string } {
  const lines = rng.int(1, 2);
  const size = Math.max(8, H * rng.uniform(0.05, 0.2));
  const fill = randomColour(rng);
  const opacity = rng.uniform(0.6, 1);
  const stroke = rng.next() < 0.5 ? ` stroke="${css(fillColour(rng))}" stroke-width="${Math.max(1, size / 20).toFixed(1)}"` : '';
  const bold = rng.next() < 0.6 ? ' font-weight="bold"' : '';
  const x = rng.uniform(0, 0.55) * W;
  const y = rng.uniform(0, Math.max(0, H - lines * size * 1.2)) + size;
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) {
    const words = `${rng.pick(OVERLAY_WORDS)} ${rng.pick(OVERLAY_WORDS)}`;
    parts.push(svgText(x, y + i * size * 1.2, size, words, `fill="${css(fill)}" fill-opacity="${opacity.toFixed(2)}"${stroke}${bold}`));
  }
  return { svg: parts.join(''), detail: `text ${lines} line(s) ${Math.round(size)}px` };
}

function shapeLayer(W: number, H: number, rng: SeededRandom): { svg: string; detail: string } {
  const count = rng.int(1, 5);
  const covered = rng.uniform(0.03, 0.2);
  const parts: string[] = [];
  const kinds: string[] = [];
  for (let i = 0; i < count; i++) {
    // Side of the square the shape is drawn in; every shape covers at most that square.
    const s = Math.max(6, Math.sqrt((covered * W * H) / count));
    const cx = rng.uniform(0, W);
    const cy = rng.uniform(0, H);
    const colour = randomColour(rng);
    const opacity = rng.uniform(0.5, 1).toFixed(2);
    const kind = rng.pick(['circle', 'star', 'box', 'smiley'] as const);
    const turn = rng.uniform(-45, 45).toFixed(1);
    const g = (inner: string) => `<g transform="rotate(${turn} ${cx.toFixed(1)} ${cy.toFixed(1)})" opacity="${opacity}">${inner}</g>`;
    if (kind === 'circle') parts.push(g(`<circle cx="${cx}" cy="${cy}" r="${s / 2}" fill="${css(colour)}"/>`));
    else if (kind === 'star') parts.push(g(star(cx, cy, s / 2, colour)));
    else if (kind === 'box') parts.push(g(box(cx, cy, s, rng.uniform(0.5, 2), colour)));
    else parts.push(g(smiley(cx, cy, s / 2)));
    kinds.push(kind);
  }
  return { svg: parts.join(''), detail: `shapes ${kinds.join(',')} ${covered.toFixed(2)}` };
}

function star(cx: number, cy: number, r: number, colour: Rgb): string {
  const points: string[] = [];
  for (let i = 0; i < 10; i++) {
    const radius = i % 2 === 0 ? r : r * 0.42;
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    points.push(`${(cx + radius * Math.cos(a)).toFixed(1)},${(cy + radius * Math.sin(a)).toFixed(1)}`);
  }
  return `<polygon points="${points.join(' ')}" fill="${css(colour)}"/>`;
}

/** A rounded box with the area of an s x s square and aspect ratio `ratio`. */
function box(cx: number, cy: number, s: number, ratio: number, colour: Rgb): string {
  const w = s * Math.sqrt(ratio);
  const h = s / Math.sqrt(ratio);
  const rx = Math.min(w, h) * 0.2;
  return `<rect x="${cx - w / 2}" y="${cy - h / 2}" width="${w}" height="${h}" rx="${rx}" fill="${css(colour)}"/>`;
}

/** An emoji-like smiley: yellow face, two eyes, a smile. */
function smiley(cx: number, cy: number, r: number): string {
  const eye = (dx: number) => `<ellipse cx="${cx + dx * r}" cy="${cy - 0.25 * r}" rx="${0.1 * r}" ry="${0.16 * r}" fill="#3a2a00"/>`;
  const smile = `M ${cx - 0.5 * r} ${cy + 0.15 * r} Q ${cx} ${cy + 0.75 * r} ${cx + 0.5 * r} ${cy + 0.15 * r}`;
  return (
    `<circle cx="${cx}" cy="${cy}" r="${r}" fill="#ffcc22" stroke="#c88a00" stroke-width="${Math.max(1, r * 0.05)}"/>` +
    eye(-0.35) +
    eye(0.35) +
    `<path d="${smile}" fill="none" stroke="#3a2a00" stroke-width="${Math.max(1, r * 0.09)}" stroke-linecap="round"/>`
  );
}

/**
 * The picture scaled to 15-50% of another photo's area (aspect kept) and pasted into it at a random
 * place, sometimes with a thin border.
 */
export const paste: Edit = async (state, rng, ctx) => {
  const background = await ctx.background(rng);
  checkRaster(background, 'EditContext.background()');
  const { width: BW, height: BH } = background;
  if (BW < MIN_SIDE || BH < MIN_SIDE) throw new Error(`EditContext.background() gave ${BW}x${BH}; paste needs at least ${MIN_SIDE}x${MIN_SIDE}`);
  const { width: W, height: H } = state.raster;
  const fraction = rng.uniform(0.15, 0.5);
  const border = rng.next() < 0.35 ? rng.int(1, 4) : 0;
  const borderColour = fillColour(rng);
  let w = Math.sqrt((fraction * BW * BH * W) / H);
  let h = (w * H) / W;
  const fit = Math.min(1, (BW - 2 * border) / w, (BH - 2 * border) / h);
  w = Math.max(1, Math.round(w * fit));
  h = Math.max(1, Math.round(h * fit));
  let pasted = await toRaster(raw(state.raster).resize(w, h, { fit: 'fill' }));
  if (border > 0) pasted = await toRaster(raw(pasted).extend({ top: border, bottom: border, left: border, right: border, background: borderColour }));
  const x = rng.int(0, BW - pasted.width);
  const y = rng.int(0, BH - pasted.height);
  const raster = await toRaster(raw(background).composite([rasterOverlay(pasted, x, y)]));
  const detail = `paste ${((w * h) / (BW * BH)).toFixed(2)} of ${BW}x${BH}${border ? ` border ${border}px` : ''}`;
  return { state: movedState(state, raster, w / W, h / H, x + border, y + border), detail };
};
