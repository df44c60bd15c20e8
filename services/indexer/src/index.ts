export { startIndexer } from './indexer.ts';
export { IndexerService, UnindexableJobError } from './indexer.service.ts';
export { GenerationRouter } from './generation-router.ts';
export { ShardRepository, CHANGE_STREAM_MAXLEN, type ShardObject, type UpsertOutcome, type UpsertResult, type RemoveResult } from './repository/shard.repository.ts';
