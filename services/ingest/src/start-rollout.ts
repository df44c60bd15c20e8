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
import { RolloutService } from './services/rollout.service.ts';

export interface RolloutHandle {
  service: RolloutService;
  /** Closes the queues and the source (not `redis`, which the caller owns). */
  close(): Promise<void>;
}

/** A RolloutService wired to the configured source and the pipeline's queues. */
export function openRollout(config: LoupeConfig, deps: { redis: RedisClient; loadModel: (ref: string) => Promise<HashModel>; logger: Logger }): RolloutHandle {
  const queues = [QueueNames.ingest, QueueNames.encode, QueueNames.index].map((q) => createQueue(q, config, deps.redis));
  const source = createObjectSource(config);
  const seen = new SeenObjectRepository(deps.redis, source.source.url);
  const clock = new ObjectVersionClock(deps.redis);
  const service = new RolloutService({ ...deps, source, seen, clock, ingestQueue: queues[0], pipelineQueues: queues });
  return {
    service,
    async close() {
      await Promise.all(queues.map((q) => q.close()));
      await source.source.close();
    },
  };
}
