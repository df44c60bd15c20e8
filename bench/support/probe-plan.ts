import { isSearchedLevel, type QueryView, type ViewPlan } from '../../packages/shared/src/index.ts';

/**
 * How many probes an image query with these views sends to each searched level of `plan`: one per
 * view that names the level, plus each view's query regions on the global level (ViewFusion.probes).
 * Levels read per candidate (cells, thumbnails) get none.
 */
export function probesPerLevel(plan: ViewPlan, views: QueryView[]): number[] {
  return plan.levels.map((_, level) =>
    isSearchedLevel(plan, level) ? views.reduce((n, v) => n + (v.offsets[level] === null ? 0 : 1 + (level === 0 && v.regions ? v.regions.proposals : 0)), 0) : 0,
  );
}
