import type { Queue } from 'bullmq';
import { createQueue, createRedis, QueueNames, type LoupeConfig, type RedisClient } from '@loupe/shared';

export interface TestQueues {
  /** The connection they share (for reading other keys in a test). */
  connection: RedisClient;
  ingest: Queue;
  encode: Queue;
  index: Queue;
  dead: Queue;
  groups: Queue;
  close(): Promise<void>;
}

/**
 * The Loupe queues on one connection that close() really closes (BullMQ leaves a
 * connection it was given as an instance open, so tests must quit it themselves).
 */
export function openQueues(config: LoupeConfig): TestQueues {
  const connection = createRedis(config, { name: 'test-queues' });
  const queues = {
    ingest: createQueue(QueueNames.ingest, config, connection),
    encode: createQueue(QueueNames.encode, config, connection),
    index: createQueue(QueueNames.index, config, connection),
    dead: createQueue(QueueNames.dead, config, connection),
    groups: createQueue(QueueNames.groups, config, connection),
  };
  return {
    connection,
    ...queues,
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
