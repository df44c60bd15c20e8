export { startIngest, type IngestHandle, type IngestOptions } from './start-ingest.ts';
export type { DiscoveryReport } from './services/discovery.service.ts';
export { isCandidateKey } from './services/candidate-key.ts';
export { RolloutService, RolloutError, type RolloutProgress, type FinishOptions } from './services/rollout.service.ts';
export { openRollout, type RolloutHandle } from './start-rollout.ts';
export { DeadLetterService, type RetryOutcome, type RetryReport } from './services/dead-letter.service.ts';
export { openDeadLetters, type DeadLettersHandle } from './start-dead-letters.ts';
export { SqsEventQueueRepository } from './repositories/sqs-event-queue.repository.ts';
