import {
  createQueue,
  DeadLetterRepository,
  etagFingerprint,
  ID_BUCKET_SIZE,
  pendingJobs,
  PENDING_JOB_STATES,
  QueueNames,
  readGenerations,
  readIndexLayout,
  ShardKeys,
  type LoupeConfig,
  type RedisClient,
} from '@loupe/shared';

/** What the index holds against what the bucket holds, after the run. */
export interface IndexAudit {
  /** Objects in the bucket that are not indexed. */
  lost: string[];
  /** Keys with more than one live object in the index. */
  duplicates: string[];
  /** Keys indexed with an etag that is not the bucket's current one. */
  staleVersions: string[];
  /** Keys the bucket no longer has that the index still serves. */
  undeleted: string[];
  /** Jobs still waiting, active, delayed or prioritized in a pipeline queue (duplicate-group upkeep included). */
  stuckJobs: number;
  /** The dead letters of current objects, with their reasons. */
  deadLetters: { key: string; reason: string }[];
}

export const auditIsClean = (a: IndexAudit) =>
  a.lost.length + a.duplicates.length + a.staleVersions.length + a.undeleted.length + a.stuckJobs === 0;

type QueueConfig = Pick<LoupeConfig, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'LOUPE_QUEUE_PREFIX'>;

/**
 * Reads every live object of the active index generation straight from its Redis keys (id -> key
 * lists and tombstones, not the query service's mirrors) and compares it with `bucket` (key ->
 * current etag).
 */
export async function auditIndex(redis: RedisClient, queues: QueueConfig, bucket: Map<string, string>): Promise<IndexAudit> {
  const live = await liveObjects(redis);
  const audit: IndexAudit = { lost: [], duplicates: [], staleVersions: [], undeleted: [], stuckJobs: 0, deadLetters: [] };
  for (const [key, etag] of bucket) {
    const held = live.get(key) ?? [];
    if (held.length === 0) audit.lost.push(key);
    else if (held.length > 1) audit.duplicates.push(key);
    else if (!held[0].equals(etagFingerprint(etag))) audit.staleVersions.push(key);
  }
  for (const key of live.keys()) if (!bucket.has(key)) audit.undeleted.push(key);
  audit.stuckJobs = await unfinishedJobs(queues);
  const dead = new DeadLetterRepository(redis);
  for (const key of bucket.keys()) {
    const entry = await dead.get(key);
    if (entry) audit.deadLetters.push({ key, reason: entry.reason });
  }
  return audit;
}

/** Live (not tombstoned) objects of the active generation: key -> etag fingerprint of each id. */
async function liveObjects(redis: RedisClient): Promise<Map<string, Buffer[]>> {
  const namespace = (await readGenerations(redis)).active;
  const layout = await readIndexLayout(redis, namespace);
  const live = new Map<string, Buffer[]>();
  if (!layout) return live;
  for (let shard = 0; shard < layout.shards; shard++) {
    const keys = new ShardKeys(shard, namespace);
    const next = Number((await redis.get(keys.nextId)) ?? 0);
    const tombstones = (await redis.getBuffer(keys.tombstones)) ?? Buffer.alloc(0);
    const deleted = (id: number) => ((tombstones[id >> 3] ?? 0) & (0x80 >> (id & 7))) !== 0;
    for (let b = 0; b * ID_BUCKET_SIZE < next; b++) {
      const entries = await redis.lrangeBuffer(keys.idBucket(b), 0, -1);
      entries.forEach((entry, i) => {
        const id = b * ID_BUCKET_SIZE + i;
        if (entry.length <= 8 || deleted(id)) return;
        const key = entry.subarray(8).toString('utf8');
        live.set(key, [...(live.get(key) ?? []), entry.subarray(0, 8)]);
      });
    }
  }
  return live;
}

/** Jobs of the pipeline's queues that have not finished (completed or failed). */
async function unfinishedJobs(config: QueueConfig): Promise<number> {
  let total = 0;
  for (const name of [QueueNames.ingest, QueueNames.encode, QueueNames.index, QueueNames.groups]) {
    const queue = createQueue(name, config);
    total += pendingJobs(await queue.getJobCounts(...PENDING_JOB_STATES));
    await queue.close();
  }
  return total;
}
