export { startIngest, type IngestHandle, type IngestOptions } from './start-ingest.ts';
export type { DiscoveryReport } from './services/discovery.service.ts';
export { ObjectGoneError, type ObjectEntry, type ObjectSource, type GetOptions } from './interfaces/object-source.ts';
export { createObjectSource, type ConfiguredSource } from './repositories/create-object-source.ts';
export { S3ObjectSource } from './repositories/s3-object-source.ts';
export { FileObjectSource, fileEtag } from './repositories/file-object-source.ts';
export { isCandidateKey } from './services/candidate-key.ts';
export { RolloutService, RolloutError, type RolloutProgress, type FinishOptions } from './services/rollout.service.ts';
export { openRollout, type RolloutHandle } from './start-rollout.ts';
