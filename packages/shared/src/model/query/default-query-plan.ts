import type { QueryPlan } from '../../search/fusion/query-plan.ts';
import type { DescriptorConfig } from '../descriptor/descriptor-config.ts';

/**
 * The query plan a model gets when its artifact names none: the query's global view against
 * every level (a global match first at equal distance).
 */
export function defaultQueryPlan(descriptor: DescriptorConfig, levels: number): QueryPlan {
  const globalSide = descriptor.mode === 'rmac' ? descriptor.levelSides[0] : 224;
  return { views: [{ name: 'global', orientation: 'none', side: globalSide, offsets: Array.from({ length: levels }, () => 0) }] };
}
