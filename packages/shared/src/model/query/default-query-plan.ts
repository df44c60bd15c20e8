import type { CellVerification, QueryPlan, QueryView } from '../../search/fusion/query-plan.ts';
import { cellLevelOf, isCnnLevel, isSearchedLevel, levelBoxesUnit, type ViewPlan } from '../../view/view-plan.ts';
import type { DescriptorConfig } from '../descriptor/descriptor-config.ts';

/**
 * Offsets (fractions of the code length) calibrated on the copy-detection benchmark
 * (docs/benchmarks.md, "Copy detection"); recall moved by less than 0.01 over 0..0.03.
 *  - REGION: a regional match pays 1% of the bits over a global one, so a whole-image copy keeps
 *    its global hit, while a crop (far from every global code) still finds its region.
 *  - TURNED: mirrored / quarter-turned query views pay 3%: they rescue flips and 90-degree turns
 *    without outranking the upright view's matches on other copies.
 *  - TRIMMED: the query with its frame removed pays 2%: padded copies are found (0.76 -> 0.99)
 *    while crops with a flat edge (sky, wall) rarely let it outrank their region (0.01 and 0.03
 *    gave the same overall recall).
 *  - TILTED: the query turned back by TILT_DEGREES either way pays 3%, like the turned views:
 *    10-degree rotations 0.807 -> 0.950 with the default model.
 *  - DCT: the perceptual code ranks at its plain distance but only within 25% of the bits; a
 *    random pair differs in ~50%, so the cut keeps it from answering crops and other scenes.
 *  - PAIRED_SCALE: a query view larger than the global side, paired with large regions, pays this
 *    per doubling of its side: a large view of a small crop finds loose matches in many photos'
 *    large regions, so the smaller scales (10% crops) keep priority. 0.015 / 0.03 / 0.06 gave
 *    0.917 / 0.921 / 0.928 overall with `-p640` (10% crops 0.51 / 0.55 / 0.62, 50% crops 0.92 / 0.92 / 0.90).
 *  - QUERY_REGION: a part of the query (QueryView.regions) against the global level pays 2%. On the
 *    robust benchmark's tuning split 0.02 / 0.05 / 0.08 gave 0.500 / 0.496 / 0.496 recall@1 (0.483
 *    without query regions); on the copy-detection benchmark 0.974 against 0.975 without them.
 */
export const QUERY_OFFSETS = { region: 0.01, turned: 0.03, trimmed: 0.02, tilted: 0.03, dct: 0, dctMaxDistance: 0.25, pairedScale: 0.06, queryRegion: 0.02 } as const;


/** Parts of the query proposed as pasted pictures (pasteProposals) and searched: a 224 forward each. */
export const QUERY_REGION_PROPOSALS = 6;

/**
 * The match decision's threshold (QueryPlan.match), meant to be the lowest score whose hits are right
 * 99% of the time. On the robust copy-detection benchmark no threshold of the (clamped) score gets
 * there on either split, so it is the strictest one, 1: precision 0.135, recall 0.297 on the test
 * split (docs/benchmarks.md, "Robust copy detection"). Plans without one of their own use it too.
 */
export const DEFAULT_MATCH_SCORE = 1;

/**
 * The tilted query views turn the query back by this many degrees either way (untiltRaster): a copy
 * rotated by 5-10 degrees comes back within 2.5 of upright, close enough for its global code.
 */
export const TILT_DEGREES = 7.5;

/**
 * Cell verification of plans with a cell level, measured on the copy-detection benchmark
 * (docs/benchmarks.md, "Cell verification"): the top 10 fused candidates, 0.4 of the code length of
 * rank per unit of mean cell agreement, a whole-image top hit within 5% of the bits kept first.
 * Weights 0.25 / 0.4 / 0.5 / 0.7 gave 0.938 / 0.939 / 0.937 / 0.937 overall with 64-bit cells and
 * 0.939 / 0.941 / 0.943 / 0.940 with 256-bit ones; 5 candidates -0.1 point; keeping whole-image hits
 * within 3% or 8% the same.
 */
export const CELL_VERIFICATION: CellVerification = { candidates: 10, weight: 0.4, keepWholeWithin: 0.05 };

/**
 * Plans with a cell level also check the same candidates' thumbnails (PixelVerifier; the pixel
 * level's, or made from the bucket's images): 0.2 of the code length of rank per unit of
 * correlation above chance. On the copy-detection benchmark (docs/benchmarks.md, "Tilted query
 * views and pixel verification") weights 0.15-0.3 with chance at 0.6-0.75 all gave 0.972-0.976
 * overall; higher weights lift 10% crops and sink padded copies.
 */
export const PIXEL_WEIGHT = 0.2;

/**
 * The query side a regional level is paired with: its regions' side in pixels of their forward,
 * when that is at least the global side, or the side it names (`querySide`: scale-paired levels,
 * pairedRegionLevels); null for pyramid levels whose regions are smaller than a query's global view
 * (served by downsized views).
 */
export function pairedQuerySide(plan: ViewPlan, descriptor: DescriptorConfig, level: number, globalSide: number): number | null {
  const l = plan.levels[level];
  if (level === 0 || l.kind !== undefined || descriptor.mode !== 'rmac') return null;
  if (l.querySide !== undefined) return l.querySide;
  const px = levelBoxesUnit(l)[0].w * descriptor.levelSides[level];
  return px >= globalSide - 16 ? Math.round(px / 32) * 32 : null;
}

/**
 * The query plan a model gets when its artifact names none:
 *  - `global`: the query as the index's level 0 sees it, against every level (the identity view:
 *    an exact copy matches its own global code at distance 0);
 *  - `s<side>`: the query at other forward sides, against regional levels only — a crop seen at
 *    about the scale its region was encoded at. Pyramid levels (regions smaller than the global
 *    side in pixels of their forward: a 2x2 / 3x3 region spans ~0.6 / ~0.45 of a 320 side) get the
 *    query downsized (s160, s128); scale-paired levels (pairedQuerySide) get the view at their
 *    regions' own pixel side (s160 for 5-cell regions, global 224 for 7-cell ones, s320, s448), at
 *    the REGION offset plus PAIRED_SCALE per doubling above the global side;
 *  - `flip`, `rot90`, `rot270`: the query mirrored / turned, against the global level (`flip` also
 *    against regions: mirrored crops);
 *  - `trim`: the query without a uniform frame (a padded or letterboxed copy), against the global
 *    level; without a frame it codes like `global`;
 *  - `tilt+7.5`, `tilt-7.5`: the query turned back from a small rotation either way (its grown
 *    canvas cut away), against the global level;
 *  - `dct` (plans with a perceptual level): the query's DctHash against that level, hits beyond
 *    dctMaxDistance dropped — blurred, darkened or captioned copies the CNN codes lose.
 * Query views cost query-time forwards only (7 x 224 + 160 + 128 px for the pyramid, 7 x 224 + 320 for
 * -p448, and + 160 for the default -p448c5); the index is unchanged. With a cell level (`-cells`), the
 * upright views (global, s<side>) also code their maps' cells, and the plan verifies the top
 * candidates against the index's cells (CELL_VERIFICATION) and their thumbnails (PIXEL_WEIGHT).
 */
export function defaultQueryPlan(descriptor: DescriptorConfig, plan: ViewPlan): QueryPlan {
  const globalSide = descriptor.mode === 'rmac' ? descriptor.levelSides[0] : 224;
  const regionSide = descriptor.mode === 'rmac' && descriptor.levelSides.length > 1 ? descriptor.levelSides[1] : 2 * globalSide;
  const isDct = plan.levels.map((l) => l.kind === 'dct');
  // What CNN query views search: not the dct level, nor the cell and pixel levels (read per candidate).
  const cnnSearched = plan.levels.map((_, l) => isCnnLevel(plan, l) && isSearchedLevel(plan, l));
  const paired = plan.levels.map((_, l) => pairedQuerySide(plan, descriptor, l, globalSide));
  // A view at `side` searches the global level (when given an offset), the levels paired with its
  // side, and — at the global side or below — the pyramid levels (unpaired regions).
  const perLevel = (side: number, global: number | null, region: number | null) =>
    cnnSearched.map((searched, l) => {
      if (!searched) return null;
      if (l === 0) return global;
      return paired[l] === null ? (side <= globalSide ? region : null) : paired[l] === side ? region : null;
    });
  const { region, turned } = QUERY_OFFSETS;
  const views: QueryView[] = [{ name: 'global', orientation: 'none', side: globalSide, offsets: perLevel(globalSide, 0, region) }];
  if (paired.some((p, l) => l > 0 && cnnSearched[l] && p === null)) {
    for (const fraction of [0.5, 0.4]) {
      const side = Math.max(64, Math.round((fraction * regionSide) / 32) * 32);
      if (side < globalSide) views.push({ name: `s${side}`, orientation: 'none', side, offsets: perLevel(side, null, region) });
    }
  }
  for (const side of [...new Set(paired.filter((p): p is number => p !== null && p !== globalSide))].sort((a, b) => a - b)) {
    const offset = Math.round((region + QUERY_OFFSETS.pairedScale * Math.max(0, Math.log2(side / globalSide))) * 1e4) / 1e4;
    views.push({ name: `s${side}`, orientation: 'none', side, offsets: perLevel(side, null, offset) });
  }
  views.push({ name: 'flip', orientation: 'flip', side: globalSide, offsets: perLevel(globalSide, turned, region + turned) });
  views.push({ name: 'rot90', orientation: 'rot90', side: globalSide, offsets: perLevel(globalSide, turned, null) });
  views.push({ name: 'rot270', orientation: 'rot270', side: globalSide, offsets: perLevel(globalSide, turned, null) });
  views.push({ name: 'trim', orientation: 'none', trim: true, side: globalSide, offsets: perLevel(globalSide, QUERY_OFFSETS.trimmed, null) });
  for (const tilt of [TILT_DEGREES, -TILT_DEGREES]) {
    views.push({ name: `tilt${tilt > 0 ? '+' : ''}${tilt}`, orientation: 'none', tilt, side: globalSide, offsets: perLevel(globalSide, QUERY_OFFSETS.tilted, null) });
  }
  if (isDct.some(Boolean)) {
    const offsets = isDct.map((dct) => (dct ? QUERY_OFFSETS.dct : null));
    views.push({ name: 'dct', kind: 'dct', orientation: 'none', side: globalSide, offsets, maxDistance: QUERY_OFFSETS.dctMaxDistance });
  }
  // The whole query's view carries the query regions (forwarded at its side, the global level's):
  // a picture pasted into the query is found by its own global code.
  if (descriptor.mode === 'rmac') views[0].regions = { proposals: QUERY_REGION_PROPOSALS, offset: QUERY_OFFSETS.queryRegion };
  const match = { minScore: DEFAULT_MATCH_SCORE };
  if (cellLevelOf(plan) < 0) return { views, match };
  // The unturned, untrimmed, untilted views see the query as the index's regions do, at each paired scale.
  const grids = views.map((v) => (v.orientation === 'none' && !v.trim && !v.tilt && v.kind !== 'dct' ? { ...v, cells: true } : v));
  return { views: grids, verify: { ...CELL_VERIFICATION, pixelWeight: PIXEL_WEIGHT }, match };
}
