import type { SeededRandom } from '@loupe/shared';
import { css, movedState, randomColour, raw, rasterOverlay, svg, svgText, toRaster, type Edit } from './robust-edits-raster.ts';

const TITLES = ['photo.jpg', 'IMG_2041.JPG', 'Preview', 'download (3).jpeg', 'Screenshot 2026-03-14', 'Image Viewer', 'Untitled', 'shared image'];
const SITES = ['example.com', 'pics.example.org', 'news.example.net', 'forum.example.io', 'social.example'];
const UI_WORDS = ['Like', 'Comment', 'Share', 'Reply', 'Follow', '1.2k views', '3h ago', 'Save', 'Report', 'More', 'Home', 'Explore', 'Settings', 'Download', 'Edit', 'Trending', 'posted by', 'user_42', 'Photos', 'Albums'];

interface Theme {
  page: string;
  chrome: string;
  field: string;
  text: string;
  border: string;
}

const THEMES: Theme[] = [
  { page: '#ffffff', chrome: '#e9e9ec', field: '#ffffff', text: '#333333', border: '#b8b8bd' },
  { page: '#1e1f22', chrome: '#2b2d31', field: '#3a3c42', text: '#d8d8dc', border: '#111214' },
  { page: '#f4f1ea', chrome: '#d9d4c7', field: '#fbfaf6', text: '#4a4538', border: '#8d8776' },
];

/**
 * The picture inside a screenshot-like window: border, title bar with window buttons, sometimes a
 * browser address bar, and some interface text around the picture, which takes 50-85% of the frame's
 * area (less when the window chrome alone needs more room).
 */
export const frame: Edit = async (state, rng) => {
  const { width: w, height: h } = state.raster;
  const wanted = rng.uniform(0.5, 0.85);
  const theme = rng.pick(THEMES);
  const unit = Math.max(12, Math.round(Math.sqrt(w * h) * rng.uniform(0.035, 0.055)));
  const title = Math.round(unit * rng.uniform(1, 1.4));
  const address = rng.next() < 0.5 ? Math.round(unit * rng.uniform(1.2, 1.6)) : 0;
  const border = rng.int(1, Math.max(1, Math.round(unit / 5)));
  const chromeTop = border + title + address;
  const minW = w + 2 * border;
  const minH = h + chromeTop + border;
  // Grow the smallest frame to the wanted area, part of the growth in width and the rest in height.
  const growth = Math.max(1, (w * h) / wanted / (minW * minH));
  const share = rng.uniform(0.25, 0.75);
  const FW = Math.round(minW * growth ** share);
  const FH = Math.round(minH * growth ** (1 - share));
  const x = border + rng.int(0, FW - minW);
  const y = chromeTop + rng.int(0, FH - minH);

  const parts = [
    `<rect width="${FW}" height="${FH}" fill="${theme.border}"/>`,
    `<rect x="${border}" y="${border}" width="${FW - 2 * border}" height="${FH - 2 * border}" fill="${theme.page}"/>`,
    titleBar(FW, border, title, theme, rng),
  ];
  if (address > 0) parts.push(addressBar(FW, border + title, address, theme, rng));
  parts.push(interfaceText({ x0: border, y0: chromeTop, x1: FW - border, y1: FH - border }, { x, y, w, h }, unit, theme, rng));
  const base = await toRaster(raw({ data: Buffer.alloc(FW * FH * 3), width: FW, height: FH }).composite([{ input: svg(FW, FH, parts.join('')), left: 0, top: 0 }]));
  const raster = await toRaster(raw(base).composite([rasterOverlay(state.raster, x, y)]));
  const detail = `frame ${((w * h) / (FW * FH)).toFixed(2)}${address ? ' browser' : ''} ${theme === THEMES[1] ? 'dark' : 'light'}`;
  return { state: movedState(state, raster, 1, 1, x, y), detail };
};

function titleBar(FW: number, border: number, height: number, theme: Theme, rng: SeededRandom): string {
  const accent = rng.next() < 0.3 ? css(randomColour(rng)) : theme.chrome;
  const cy = border + height / 2;
  const size = height * 0.5;
  const parts = [`<rect x="${border}" y="${border}" width="${FW - 2 * border}" height="${height}" fill="${accent}"/>`];
  let textX = border + height * 0.4;
  if (rng.next() < 0.5) {
    // Traffic-light buttons on the left.
    const r = height * 0.2;
    ['#ff5f57', '#febc2e', '#28c840'].forEach((c, i) => parts.push(`<circle cx="${border + height * (0.6 + i * 0.6)}" cy="${cy}" r="${r}" fill="${c}"/>`));
    textX = border + height * 2.4;
  } else {
    // Minimise / maximise / close glyphs on the right.
    const glyphs = ['\u2013', '\u25a1', '\u00d7'];
    glyphs.forEach((g, i) => parts.push(svgText(FW - border - height * (2.6 - i * 0.9), cy + size * 0.35, size, g, `fill="${theme.text}"`)));
  }
  parts.push(svgText(textX, cy + size * 0.35, size, rng.pick(TITLES), `fill="${theme.text}"`));
  return parts.join('');
}

function addressBar(FW: number, top: number, height: number, theme: Theme, rng: SeededRandom): string {
  const left = height * 2.2;
  const size = height * 0.42;
  const url = `https://${rng.pick(SITES)}/${rng.pick(['p', 'photo', 'status', 'img', 'post'])}/${rng.int(1000, 999999)}`;
  return (
    `<rect x="0" y="${top}" width="${FW}" height="${height}" fill="${theme.chrome}" fill-opacity="0.85"/>` +
    svgText(height * 0.35, top + height * 0.5 + size * 0.35, size * 1.2, '\u2190 \u2192', `fill="${theme.text}"`) +
    `<rect x="${left}" y="${top + height * 0.15}" width="${Math.max(10, FW - left - height * 0.5)}" height="${height * 0.7}" rx="${height * 0.35}" fill="${theme.field}" stroke="${theme.border}" stroke-width="1"/>` +
    svgText(left + height * 0.4, top + height * 0.5 + size * 0.35, size, url, `fill="${theme.text}"`)
  );
}

interface Area {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Lines of interface words in the free space around the picture (sidebars, captions, toolbars). */
function interfaceText(page: Area, image: { x: number; y: number; w: number; h: number }, unit: number, theme: Theme, rng: SeededRandom): string {
  const size = unit * rng.uniform(0.45, 0.65);
  const leading = size * 1.5;
  const free: Area[] = [
    { x0: page.x0, y0: page.y0, x1: page.x1, y1: image.y },
    { x0: page.x0, y0: image.y + image.h, x1: page.x1, y1: page.y1 },
    { x0: page.x0, y0: image.y, x1: image.x, y1: image.y + image.h },
    { x0: image.x + image.w, y0: image.y, x1: page.x1, y1: image.y + image.h },
  ];
  const parts: string[] = [];
  for (const a of free) {
    if (a.x1 - a.x0 < size * 4 || a.y1 - a.y0 < leading) continue;
    const lines = Math.min(12, Math.floor((a.y1 - a.y0) / leading));
    const words = Math.max(1, Math.floor((a.x1 - a.x0) / (size * 6)));
    for (let i = 0; i < lines; i++) {
      if (rng.next() < 0.3) continue;
      const text = Array.from({ length: rng.int(1, Math.min(4, words)) }, () => rng.pick(UI_WORDS)).join('  ');
      const bold = rng.next() < 0.2 ? ' font-weight="bold"' : '';
      parts.push(svgText(a.x0 + size * 0.6, a.y0 + leading * (i + 0.8), size, text, `fill="${theme.text}"${bold}`));
    }
  }
  // Lines that run long are hidden under the picture, which is composited on top.
  return parts.join('');
}
