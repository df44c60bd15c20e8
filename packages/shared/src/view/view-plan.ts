/**
 * The view plan: which views of an image get a code. Level 0 is the whole image; each further
 * level is a grid x grid pyramid of overlapping regions. Every image gets the same number of
 * views per level, so a view's slot in the index is (objectId * viewsAtLevel + index) and its box
 * is derived from the plan and the image size instead of being stored.
 */
export interface ViewLevel {
  name: string;
  grid: number;
  /** Fraction of a region shared with its neighbour (0 = tiles, 0.5 = half overlap). */
  overlap: number;
  /**
   * 'dct': a perceptual level — one whole-image code from the DCT of the grey image (DctHash), no
   * CNN; 'cells': one code per cell of its forward's feature map (grid = the map's side, no
   * overlap), never searched: the query service checks its top candidates against it
   * (CellGridVerifier); 'pixels': the image's small grey thumbnail (greyThumbnailBytes, `bits` / 8
   * bytes), never searched: the query's own pixels are sought in it (PixelVerifier); absent:
   * searched codes from the backbone's descriptors and the head.
   */
  kind?: 'dct' | 'cells' | 'pixels';
  /**
   * Scale-paired levels whose regions span less than a query's global view: the query forward
   * side that sees a crop of this region's size at the pixel scale the region was encoded at
   * (pairedRegionLevels, pairedQuerySide). Larger paired levels are recognised by their size.
   */
  querySide?: number;
  /**
   * A level's code length when it is not the index's: a cell level keeps the first `bits` of each
   * cell's code (a cell is checked, not searched, and there are ~200 an image); a pixel level holds
   * side x side grey bytes (bits = side^2 x 8).
   */
  bits?: number;
}

export interface ViewPlan {
  levels: ViewLevel[];
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface View {
  level: number;
  index: number;
  /** Box in source pixels (after EXIF orientation). */
  box: Box;
}

export const DEFAULT_VIEW_PLAN: ViewPlan = {
  levels: [
    { name: 'global', grid: 1, overlap: 0 },
    { name: 'r2', grid: 2, overlap: 0.4 },
    { name: 'r3', grid: 3, overlap: 0.4 },
  ],
};

/** Levels whose one view is the whole image (level 0 and perceptual levels): 'global' matches. */
export function isWholeImageLevel(plan: ViewPlan, level: number): boolean {
  return level === 0 || plan.levels[level]?.kind === 'dct';
}

/** Levels the index's searchers scan: every level but the cell and pixel levels (read per candidate instead). */
export function isSearchedLevel(plan: ViewPlan, level: number): boolean {
  const kind = plan.levels[level]?.kind;
  return kind !== 'cells' && kind !== 'pixels';
}

/** Levels coded from the backbone's descriptors (searched regions and cells), not from pixels. */
export function isCnnLevel(plan: ViewPlan, level: number): boolean {
  const kind = plan.levels[level]?.kind;
  return kind === undefined || kind === 'cells';
}

/** Bits of each code stored at `level` of an index of `bits`-bit codes. */
export function levelBits(plan: ViewPlan, level: number, bits: number): number {
  return plan.levels[level]?.bits ?? bits;
}

/**
 * The plan for codes of `bits` (a head of another length): a cell level keeps its shorter length only
 * while it is shorter; a pixel level's thumbnail does not depend on the head.
 */
export function planForBits(plan: ViewPlan, bits: number): ViewPlan {
  return { levels: plan.levels.map(({ bits: b, ...l }) => (b !== undefined && (b < bits || l.kind === 'pixels') ? { ...l, bits: b } : l)) };
}

/** The plan's cell level (kind 'cells'), or -1. */
export function cellLevelOf(plan: ViewPlan): number {
  return plan.levels.findIndex((l) => l.kind === 'cells');
}

/** The plan's pixel level (kind 'pixels'), or -1. */
export function pixelLevelOf(plan: ViewPlan): number {
  return plan.levels.findIndex((l) => l.kind === 'pixels');
}

/** Thumbnail side of a pixel level (its bits are side^2 grey bytes). */
export function pixelSide(level: ViewLevel): number {
  return Math.round(Math.sqrt((level.bits ?? 0) / 8));
}

/** The plan with a perceptual (DCT) level after its CNN levels. */
export function withDctLevel(plan: ViewPlan): ViewPlan {
  return { levels: [...plan.levels, { name: 'dct', grid: 1, overlap: 0, kind: 'dct' }] };
}

export function viewsAtLevel(level: ViewLevel): number {
  return level.grid * level.grid;
}

export function viewCount(plan: ViewPlan): number {
  return plan.levels.reduce((n, l) => n + viewsAtLevel(l), 0);
}

/** Boxes of one level as fractions of the image, row-major. */
export function levelBoxesUnit(level: ViewLevel): Box[] {
  const g = level.grid;
  const size = 1 / (g - (g - 1) * level.overlap);
  const step = g === 1 ? 0 : (1 - size) / (g - 1);
  const out: Box[] = [];
  for (let r = 0; r < g; r++)
    for (let c = 0; c < g; c++) out.push({ x: c * step, y: r * step, w: size, h: size });
  return out;
}

/** Every view of the plan with its box in source pixels. */
export function planViews(plan: ViewPlan, width: number, height: number): View[] {
  const views: View[] = [];
  plan.levels.forEach((level, li) => {
    levelBoxesUnit(level).forEach((b, index) => {
      views.push({ level: li, index, box: toPixels(b, width, height) });
    });
  });
  return views;
}

export function toPixels(b: Box, width: number, height: number): Box {
  // Clamped so a box never starts past the last pixel (1-pixel-wide images).
  const x = Math.min(width - 1, Math.round(b.x * width));
  const y = Math.min(height - 1, Math.round(b.y * height));
  return {
    x,
    y,
    w: Math.max(1, Math.min(width - x, Math.round(b.w * width))),
    h: Math.max(1, Math.min(height - y, Math.round(b.h * height))),
  };
}
