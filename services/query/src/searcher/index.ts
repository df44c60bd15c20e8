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
export { ShardMirror, SearchInputError } from './shard-mirror.ts';
export { compareStreamIds } from './stream-gap.ts';
export type { MirrorHit, MirrorSearchOptions, MirrorStats, ShardMirrorOptions } from './shard-mirror.ts';
