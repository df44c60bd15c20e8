import {
  createObjectSource,
  createQueue,
  DeadLetterRepository,
  LiveGenerations,
  QueueNames,
  type Logger,
  type LoupeConfig,
  type RedisClient,
} from '@loupe/shared';
import { SeenObjectRepository } from './repositories/seen-object.repository.ts';
import { DeadLetterService } from './services/dead-letter.service.ts';

export interface DeadLettersHandle {
  service: DeadLetterService;
  /** Closes the queues and the source (not `redis`, which the caller owns). */
  close(): Promise<void>;
}

/** A DeadLetterService wired to the configured source and the pipeline's queues. */
export function openDeadLetters(config: LoupeConfig, deps: { redis: RedisClient; logger: Logger }): DeadLettersHandle {
  const [ingestQueue, encodeQueue, indexQueue] = [QueueNames.ingest, QueueNames.encode, QueueNames.index].map((q) => createQueue(q, config, deps.redis));
  const { source } = createObjectSource(config);
  const service = new DeadLetterService({
    failed: new DeadLetterRepository(deps.redis),
    source,
    seen: new SeenObjectRepository(deps.redis, source.url),
    ingestQueue,
    encodeQueue,
    indexQueue,
    generations: new LiveGenerations(deps.redis),
    logger: deps.logger,
  });
  return {
    service,
    async close() {
      await Promise.all([ingestQueue, encodeQueue, indexQueue].map((q) => q.close()));
      await source.close();
    },
  };
}
