import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection.ts';
import { dropHeartbeat, freshHeartbeats, writeHeartbeat } from './heartbeats.ts';
import { DEFAULT_NAMESPACE, GENERATIONS_KEY, indexMetaKey, SERVING_KEY } from './redis-keys.ts';
import { ensureIndexLayout, readIndexLayout, type IndexLayout, type StoredIndexLayout } from './index-layout.ts';

/**
 * Index generations: how a new model is rolled out without downtime. Each generation is a whole
 * index under its own key namespace. Queries are served from the `active` one while a rollout
 * re-encodes every object into `next` (encoders write new objects to both); promoting `next` is
 * one HSET that query services notice and follow, after which the old namespace is deleted.
 */
export interface IndexGenerations {
  active: string;
  next: string | null;
}

export class GenerationConflictError extends Error {}

export async function readGenerations(redis: RedisClient): Promise<IndexGenerations> {
  const h = await redis.hgetall(GENERATIONS_KEY);
  return { active: h.active || DEFAULT_NAMESPACE, next: h.next || null };
}

/** Layouts of the live generations: the active one (null before the first encoder ran) and the next. */
export async function readLiveLayouts(redis: RedisClient): Promise<{ active: StoredIndexLayout | null; next: StoredIndexLayout | null }> {
  const g = await readGenerations(redis);
  const [active, next] = await Promise.all([readIndexLayout(redis, g.active), g.next ? readIndexLayout(redis, g.next) : null]);
  return { active, next };
}

/**
 * The live generations for per-job routing (encoders, indexers): reads the pointer on every call,
 * so a rollout is seen by the next job, and caches the layouts, which never change once created
 * (a generation deleted and made again for the same model gets the same layout).
 */
export class LiveGenerations {
  private readonly layouts = new Map<string, StoredIndexLayout>();

  constructor(private readonly redis: RedisClient) {}

  /** Live layouts, the active one first; empty before the first encoder created the index. */
  async list(): Promise<StoredIndexLayout[]> {
    const g = await readGenerations(this.redis);
    const out: StoredIndexLayout[] = [];
    for (const ns of g.next ? [g.active, g.next] : [g.active]) {
      const layout = await this.layout(ns);
      if (layout) out.push(layout);
    }
    return out;
  }

  /** The layout of `namespace` if that generation is live, else null (e.g. an aborted rollout). */
  async live(namespace: string): Promise<StoredIndexLayout | null> {
    return (await this.list()).find((l) => l.namespace === namespace) ?? null;
  }

  private async layout(namespace: string): Promise<StoredIndexLayout | null> {
    const cached = this.layouts.get(namespace);
    if (cached) return cached;
    const layout = await readIndexLayout(this.redis, namespace);
    if (layout) this.layouts.set(namespace, layout);
    return layout;
  }
}

/** The namespace a model's generation lives under: stable per model version, so a rollout resumes. */
export function generationNamespace(modelId: string): string {
  return `${DEFAULT_NAMESPACE}@${createHash('sha256').update(modelId).digest('hex').slice(0, 12)}`;
}

/**
 * How long a query service keeps a generation it switched away from, so searches already running
 * on it finish; a rollout waits a little longer than this before deleting that generation's keys.
 */
export const GENERATION_DRAIN_MS = 5000;

const BEGIN_LUA = `
local next = redis.call('HGET', KEYS[1], 'next')
if next and next ~= ARGV[1] then return {err = 'ROLLOUT_BUSY ' .. next} end
redis.call('HSET', KEYS[1], 'next', ARGV[1])
return 'OK'`;

/**
 * Creates the layout of a new generation and marks it `next` (idempotent for the same layout,
 * so an interrupted rollout can be started again). Refuses while another rollout is pending.
 */
export async function beginGeneration(redis: RedisClient, layout: IndexLayout & { namespace: string }): Promise<IndexLayout> {
  const created = await ensureIndexLayout(redis, layout);
  try {
    await redis.eval(BEGIN_LUA, 1, GENERATIONS_KEY, layout.namespace);
  } catch (e) {
    const m = /ROLLOUT_BUSY (\S+)/.exec(String((e as Error).message));
    if (m) throw new GenerationConflictError(`another rollout (generation ${m[1]}) is in progress; finish or abort it first`);
    throw e;
  }
  return created;
}

const PROMOTE_LUA = `
if redis.call('HGET', KEYS[1], 'next') ~= ARGV[1] then return false end
local old = redis.call('HGET', KEYS[1], 'active') or ARGV[2]
redis.call('HSET', KEYS[1], 'active', ARGV[1])
redis.call('HDEL', KEYS[1], 'next')
return old`;

/** Makes `namespace` (the pending next generation) the active one; returns the retired namespace. */
export async function promoteGeneration(redis: RedisClient, namespace: string): Promise<string> {
  const old = (await redis.eval(PROMOTE_LUA, 1, GENERATIONS_KEY, namespace, DEFAULT_NAMESPACE)) as string | null;
  if (!old) throw new GenerationConflictError(`generation ${namespace} is not the pending rollout`);
  return old;
}

const ABORT_LUA = `
if redis.call('HGET', KEYS[1], 'next') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'next')
return 1`;

/** Drops a pending rollout's `next` mark (its keys are then deleted with deleteGeneration). */
export async function abortGeneration(redis: RedisClient, namespace: string): Promise<boolean> {
  return (await redis.eval(ABORT_LUA, 1, GENERATIONS_KEY, namespace)) === 1;
}

/**
 * Deletes every key of a retired generation (its layout first, so no writer starts on it again).
 * SCANs each master of a cluster; UNLINK frees the memory in the background.
 */
export async function deleteGeneration(redis: RedisClient, namespace: string): Promise<number> {
  const live = await readGenerations(redis);
  if (namespace === live.active || namespace === live.next) throw new GenerationConflictError(`generation ${namespace} is live`);
  await redis.unlink(indexMetaKey(namespace));
  const nodes = 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      // Shard keys only (ShardKeys.tag): the default namespace shares its prefix with other keys.
      const [next, keys] = await node.scan(cursor, 'MATCH', `${namespace}:{s*`, 'COUNT', 1000);
      cursor = next;
      // One key per UNLINK (keys of different shards sit in different cluster slots), pipelined.
      const replies = (await node.pipeline(keys.map((key) => ['unlink', key])).exec()) ?? [];
      for (const [err, n] of replies) {
        if (err) throw err;
        deleted += n as number;
      }
    } while (cursor !== '0');
  }
  return deleted;
}

/** A query service's heartbeat: the generation it serves now. */
export function reportServing(redis: RedisClient, instance: string, namespace: string): Promise<void> {
  return writeHeartbeat(redis, SERVING_KEY, instance, { generation: namespace });
}

export function forgetServing(redis: RedisClient, instance: string): Promise<void> {
  return dropHeartbeat(redis, SERVING_KEY, instance);
}

/** Generations served by query services whose heartbeat is newer than `freshMs` (stale entries are dropped). */
export async function servedGenerations(redis: RedisClient, freshMs: number): Promise<Map<string, string>> {
  const reports = await freshHeartbeats<{ generation: string }>(redis, SERVING_KEY, freshMs);
  return new Map([...reports].map(([instance, r]) => [instance, r.generation]));
}
