/** BullMQ queue names (contract: ARCHITECTURE.md). */
export const QueueNames = {
  ingest: 'loupe-ingest',
  encode: 'loupe-encode',
  index: 'loupe-index',
  dead: 'loupe-dead',
  /** Duplicate-group upkeep: one job per indexed or deleted object of the active index. */
  groups: 'loupe-groups',
} as const;

export type QueueName = (typeof QueueNames)[keyof typeof QueueNames];

/** BullMQ job states of work not done yet. */
export const PENDING_JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/** Jobs not done yet in a getJobCounts() result (asked with at least PENDING_JOB_STATES). */
export function pendingJobs(counts: Record<string, number>): number {
  return PENDING_JOB_STATES.reduce((n, state) => n + (counts[state] ?? 0), 0);
}

/**
 * BullMQ key prefix for a queue. With Redis Cluster every key of one queue must hash to one
 * slot, so the prefix carries a hash tag per queue.
 */
export function queuePrefix(base: string, queue: QueueName, cluster: boolean): string {
  return cluster ? `{${base}:${queue}}` : base;
}

/**
 * Job id for one object version: the same (key, etag) always maps to the same job. With a version
 * (object-version.ts) it is part of the id too, so a version that comes back (A -> B -> A) is a new
 * job and not swallowed by the first A's job, still active or kept among the completed ones.
 */
export function objectJobId(stage: string, key: string, etag: string, version?: number): string {
  const v = version === undefined ? '' : `\u0000${version}`;
  // BullMQ forbids ':' in custom ids; base64url keeps any key legal and reversible.
  return `${stage}-${Buffer.from(`${key}\u0000${etag}${v}`).toString('base64url')}`;
}

/** Index job id: one per object version and model, so a re-encode with a new model is not dropped. */
export function indexJobId(key: string, etag: string, model: string, version?: number): string {
  return objectJobId('index', key, `${etag}\u0000${model}`, version);
}

/**
 * Ingest job id of a dead letter's retry: the object version plus the time of the retry, since
 * BullMQ keeps the ids of finished jobs and ignores a second add under the first one's id.
 */
export function retryJobId(key: string, etag: string, at: number): string {
  return objectJobId('ingest-retry', key, `${etag}\u0000${at}`);
}
