export { startQuery } from './start-query.ts';
export { startSearcher, type RunningSearcher } from './start-searcher.ts';
export { QueryService, QueryInputError, type QueryEncoder, type ShardFanout } from './query.service.ts';
export { StatsService, type StatsResponse } from './stats.service.ts';
export type { SearchHit, SearchResponse, SearchParams, Granularity, GranularityMode } from './search-types.ts';
