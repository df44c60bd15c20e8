import type { RgbRaster } from '../../image/canonical-image.ts';
import type { Box } from '../../view/view-plan.ts';

/** A step in grey level across which a pixel pair counts as an edge. */
const EDGE_STEP = 24;
/** Peaks closer than this (fraction of the side) are one boundary. */
const PEAK_SPACING = 0.04;
/** A proposal covers between these shares of the query's area (smaller pastes are noise, larger ones the whole query finds). */
const MIN_AREA = 0.08;
const MAX_AREA = 0.85;
/** How strong the image's border counts as a box side. */
const BORDER = 0.5;

/**
 * Where a picture pasted into the query (a collage, a meme, a screenshot, a photo on a page) may
 * be: pasted pictures have straight edges along the rows and columns, so the columns and rows
 * crossed by the most edge pixels are candidate boundaries, and the boxes between two of them
 * (or the image's border) are ranked by how strong their four sides are. Returns up to `count`
 * boxes as fractions of the raster, best first.
 */
export function pasteProposals(raster: RgbRaster, count: number): Box[] {
  const { width: w, height: h, data } = raster;
  const grey = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) grey[i] = 0.299 * data[3 * i] + 0.587 * data[3 * i + 1] + 0.114 * data[3 * i + 2];
  // down[x * (h + 1) + y]: edge pixels between columns x-1 and x in rows < y; across[y * (w + 1) + x]
  // likewise between rows y-1 and y in columns < x. A box side's strength is the share of its
  // length that is an edge: a pasted picture's sides are edges all along, a texture's lines are not
  // where the box needs them.
  const down = new Uint32Array((w + 1) * (h + 1));
  const across = new Uint32Array((h + 1) * (w + 1));
  const cols = new Float32Array(w + 1);
  const rows = new Float32Array(h + 1);
  for (let x = 1; x < w; x++)
    for (let y = 0; y < h; y++) {
      const edge = Math.abs(grey[y * w + x] - grey[y * w + x - 1]) > EDGE_STEP ? 1 : 0;
      down[x * (h + 1) + y + 1] = down[x * (h + 1) + y] + edge;
      cols[x] += edge / h;
    }
  for (let y = 1; y < h; y++)
    for (let x = 0; x < w; x++) {
      const edge = Math.abs(grey[y * w + x] - grey[(y - 1) * w + x]) > EDGE_STEP ? 1 : 0;
      across[y * (w + 1) + x + 1] = across[y * (w + 1) + x] + edge;
      rows[y] += edge / w;
    }
  const xs = [0, w, ...peaks(cols, 8).map((p) => p.at)];
  const ys = [0, h, ...peaks(rows, 8).map((p) => p.at)];
  // The image's own border bounds any paste that touches it: as strong as a fair edge.
  const vertical = (x: number, y0: number, y1: number) => (x === 0 || x === w ? BORDER : (down[x * (h + 1) + y1] - down[x * (h + 1) + y0]) / (y1 - y0));
  const horizontal = (y: number, x0: number, x1: number) => (y === 0 || y === h ? BORDER : (across[y * (w + 1) + x1] - across[y * (w + 1) + x0]) / (x1 - x0));
  const boxes: { box: Box; score: number }[] = [];
  for (const x0 of xs)
    for (const x1 of xs) {
      if (x1 <= x0) continue;
      for (const y0 of ys)
        for (const y1 of ys) {
          if (y1 <= y0) continue;
          const area = ((x1 - x0) * (y1 - y0)) / (w * h);
          if (area < MIN_AREA || area > MAX_AREA) continue;
          const sides = [vertical(x0, y0, y1), vertical(x1, y0, y1), horizontal(y0, x0, x1), horizontal(y1, x0, x1)];
          // The weakest side decides: a box with three true sides and one through the picture is not it.
          const score = Math.min(...sides) + 0.1 * sides.reduce((a, b) => a + b, 0);
          boxes.push({ box: { x: x0 / w, y: y0 / h, w: (x1 - x0) / w, h: (y1 - y0) / h }, score });
        }
    }
  boxes.sort((a, b) => b.score - a.score);
  return boxes.slice(0, count).map((b) => b.box);
}

/** The `n` highest local maxima of a profile, at least PEAK_SPACING of its length apart, inner positions only. */
function peaks(profile: Float32Array, n: number): { at: number; score: number }[] {
  const spacing = Math.max(2, Math.round(PEAK_SPACING * (profile.length - 1)));
  const order = [...profile.keys()].filter((i) => i > 0 && i < profile.length - 1).sort((a, b) => profile[b] - profile[a]);
  const out: { at: number; score: number }[] = [];
  for (const i of order) {
    if (out.length === n || profile[i] < 0.05) break;
    if (out.every((p) => Math.abs(p.at - i) >= spacing)) out.push({ at: i, score: profile[i] });
  }
  return out;
}
