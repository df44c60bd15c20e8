import {
  createQueue,
  QueueNames,
  type HashModel,
  type Logger,
  type LoupeConfig,
  type RedisClient,
  createObjectSource,
  ObjectVersionClock,
} from '@loupe/shared';
import { SeenObjectRepository } from './repositories/seen-object.repository.ts';
import { SourceLockRepository } from './repositories/source-lock.repository.ts';
import { ObjectJobsService } from './services/object-jobs.service.ts';
import { RolloutService } from './services/rollout.service.ts';
import { SourceLockService } from './services/source-lock.service.ts';

export interface RolloutHandle {
  service: RolloutService;
  /** Closes the queues and the source (not `redis`, which the caller owns). */
  close(): Promise<void>;
}

/** A RolloutService wired to the configured source and the pipeline's queues. */
export function openRollout(config: LoupeConfig, deps: { redis: RedisClient; loadModel: (ref: string) => Promise<HashModel>; logger: Logger }): RolloutHandle {
  const queues = [QueueNames.ingest, QueueNames.encode, QueueNames.index].map((q) => createQueue(q, config, deps.redis));
  const source = createObjectSource(config);
  const url = source.source.url;
  const lock = new SourceLockService({ locks: new SourceLockRepository(deps.redis, url), clock: new ObjectVersionClock(deps.redis), sourceUrl: url });
  const jobs = new ObjectJobsService({ seen: new SeenObjectRepository(deps.redis, url), ingestQueue: queues[0], encodeQueue: queues[1] });
  const service = new RolloutService({ ...deps, source, lock, jobs, pipelineQueues: queues });
  return {
    service,
    async close() {
      await Promise.all(queues.map((q) => q.close()));
      await source.source.close();
    },
  };
}
