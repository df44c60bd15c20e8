import type { QueryPlan, QueryView } from '../../search/fusion/query-plan.ts';
import type { ViewPlan } from '../../view/view-plan.ts';
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
 *  - DCT: the perceptual code ranks at its plain distance but only within 25% of the bits; a
 *    random pair differs in ~50%, so the cut keeps it from answering crops and other scenes.
 */
export const QUERY_OFFSETS = { region: 0.01, turned: 0.03, trimmed: 0.02, dct: 0, dctMaxDistance: 0.25 } as const;

/**
 * The query plan a model gets when its artifact names none:
 *  - `global`: the query as the index's level 0 sees it, against every level (the identity view:
 *    an exact copy matches its own global code at distance 0);
 *  - `s<side>`: the query at smaller forward sides, against the regional levels only — a crop seen
 *    at about the scale its region was encoded at (regions are pooled from the levelSides[1]
 *    forward, where a 2x2 / 3x3 region spans ~0.6 / ~0.45 of the side);
 *  - `flip`, `rot90`, `rot270`: the query mirrored / turned, against the global level (`flip` also
 *    against regions: mirrored crops);
 *  - `trim`: the query without a uniform frame (a padded or letterboxed copy), against the global
 *    level; without a frame it codes like `global`;
 *  - `dct` (plans with a perceptual level): the query's DctHash against that level, hits beyond
 *    dctMaxDistance dropped — blurred, darkened or captioned copies the CNN codes lose.
 * Query views cost query-time forwards only (about 4x224 + 160 + 128 px here); the index is unchanged.
 */
export function defaultQueryPlan(descriptor: DescriptorConfig, plan: ViewPlan): QueryPlan {
  const globalSide = descriptor.mode === 'rmac' ? descriptor.levelSides[0] : 224;
  const regionSide = descriptor.mode === 'rmac' && descriptor.levelSides.length > 1 ? descriptor.levelSides[1] : 2 * globalSide;
  const isDct = plan.levels.map((l) => l.kind === 'dct');
  const perLevel = (global: number | null, region: number | null) => isDct.map((dct, l) => (dct ? null : l === 0 ? global : region));
  const { region, turned } = QUERY_OFFSETS;
  const views: QueryView[] = [{ name: 'global', orientation: 'none', side: globalSide, offsets: perLevel(0, region) }];
  if (isDct.filter((d) => !d).length > 1) {
    for (const fraction of [0.5, 0.4]) {
      const side = Math.max(64, Math.round((fraction * regionSide) / 32) * 32);
      if (side < globalSide) views.push({ name: `s${side}`, orientation: 'none', side, offsets: perLevel(null, region) });
    }
  }
  views.push({ name: 'flip', orientation: 'flip', side: globalSide, offsets: perLevel(turned, region + turned) });
  views.push({ name: 'rot90', orientation: 'rot90', side: globalSide, offsets: perLevel(turned, null) });
  views.push({ name: 'rot270', orientation: 'rot270', side: globalSide, offsets: perLevel(turned, null) });
  views.push({ name: 'trim', orientation: 'none', trim: true, side: globalSide, offsets: perLevel(QUERY_OFFSETS.trimmed, null) });
  if (isDct.some(Boolean)) {
    const offsets = isDct.map((dct) => (dct ? QUERY_OFFSETS.dct : null));
    views.push({ name: 'dct', kind: 'dct', orientation: 'none', side: globalSide, offsets, maxDistance: QUERY_OFFSETS.dctMaxDistance });
  }
  return { views };
}
