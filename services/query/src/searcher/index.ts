export { SearcherPool } from './searcher-pool.ts';
export type {
  FanoutResult,
  SearchHit,
  SearchQuery,
  SearcherConfig,
  SearcherPoolOptions,
  SearcherStats,
  ShardStats,
  ShardsOutcome,
} from './searcher-types.ts';
export { ShardMirror } from './shard-mirror.ts';
export { SearchInputError } from './mirror-types.ts';
export { compareStreamIds } from './stream-gap.ts';
export type { MirrorHit, MirrorSearchOptions, MirrorStats, ShardMirrorOptions } from './mirror-types.ts';
