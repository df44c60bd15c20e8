import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import {
  abortGeneration,
  beginGeneration,
  deleteGeneration,
  GENERATION_DRAIN_MS,
  generationNamespace,
  liveObjectCount,
  objectJobId,
  PENDING_JOB_STATES,
  pendingJobs,
  promoteGeneration,
  readLiveLayouts,
  servedGenerations,
  type HashModel,
  type IngestJob,
  type Logger,
  type RedisClient,
  type StoredIndexLayout,
  type ObjectEntry,
  type ObjectVersionClock,
  type ConfiguredSource,
} from '@loupe/shared';
import type { SeenObjectRepository } from '../repositories/seen-object.repository.ts';
import { isCandidateKey } from './candidate-key.ts';
import { DISCOVERY_LOCK_TTL_MS } from './discovery.service.ts';

export interface RolloutDeps {
  redis: RedisClient;
  source: ConfiguredSource;
  /** Discovery's state of the source: the backfill takes its lock, so it never overlaps a pass. */
  seen: SeenObjectRepository;
  clock: ObjectVersionClock;
  ingestQueue: Queue;
  /** Queues whose pending jobs may still write to the next generation (ingest, encode, index). */
  pipelineQueues: Queue[];
  loadModel: (ref: string) => Promise<HashModel>;
  logger: Logger;
}

export interface RolloutProgress {
  active: { generation: string; model: string; objects: number };
  next: { generation: string; model: string; objects: number } | null;
  /** Jobs not yet done on the pipeline queues (a rollout's re-encodes among them). */
  pending: number;
}

export interface FinishOptions {
  pollMs?: number;
  /** Gives up (throws) after this long without completion. */
  timeoutMs?: number;
  /** How long every query service gets to switch before the old generation is deleted. */
  switchTimeoutMs?: number;
  /**
   * With the pipeline drained and the next generation short of objects (encodes that failed for
   * the new model, see loupe-dead), give up after this long without progress (default 60 s)...
   */
  stallMs?: number;
  /** ...or promote it anyway. */
  force?: boolean;
  onProgress?: (p: RolloutProgress) => void;
}

const BACKFILL_BATCH = 500;
/** How often the backfill tries for the discovery lock while a pass holds it. */
const BACKFILL_LOCK_POLL_MS = 250;
/** A query service whose heartbeat is older than this is not waited for. */
const SERVING_FRESH_MS = 15_000;

export class RolloutError extends Error {}

/**
 * Rolls a new model out without downtime: creates the next index generation, re-encodes every
 * object of the bucket into it in the background (ingest jobs for that generation alone, while
 * encoders also write new objects to both), promotes it once it holds as many objects as the
 * active one and the pipeline is drained, waits for every query service to switch, then deletes
 * the old generation.
 */
export class RolloutService {
  constructor(private readonly deps: RolloutDeps) {}

  /** Starts (or resumes) the rollout of `modelRef`; returns the generation and the re-encode jobs queued. */
  async begin(modelRef: string): Promise<{ generation: string; model: string; queued: number }> {
    const { redis, logger } = this.deps;
    const { active, next } = await readLiveLayouts(redis);
    if (!active) throw new RolloutError('nothing is indexed yet: set LOUPE_MODEL and start the pipeline instead');
    const model = await this.deps.loadModel(modelRef);
    if (model.id === active.model) throw new RolloutError(`the index already uses model ${model.id}`);
    if (next && next.model !== model.id) throw new RolloutError(`a rollout of model ${next.model} is in progress (generation ${next.namespace}); finish or abort it first`);
    // Ingest computes the views once for every generation, so they must share the view plan.
    if (JSON.stringify(model.plan) !== JSON.stringify(active.plan)) throw new RolloutError(`model ${model.id} has another view plan than the index; re-index into a fresh Redis instead`);
    const generation = generationNamespace(model.id);
    await beginGeneration(redis, { shards: active.shards, bits: model.bits, plan: model.plan, model: model.id, namespace: generation, modelRef });
    const queued = await this.backfill(generation);
    logger.info({ event: 'rollout-begin', generation, model: model.id, bits: model.bits, queued }, 'rollout started');
    return { generation, model: model.id, queued };
  }

  async progress(): Promise<RolloutProgress> {
    const { redis, pipelineQueues } = this.deps;
    const { active, next } = await readLiveLayouts(redis);
    if (!active) throw new RolloutError('nothing is indexed yet');
    const counts = await Promise.all(pipelineQueues.map((q) => q.getJobCounts(...PENDING_JOB_STATES)));
    const describe = async (l: StoredIndexLayout) => ({ generation: l.namespace, model: l.model, objects: await liveObjectCount(redis, l) });
    return {
      active: await describe(active),
      next: next ? await describe(next) : null,
      pending: counts.reduce((n, c) => n + pendingJobs(c), 0),
    };
  }

  /**
   * Waits until the next generation is complete, promotes it, waits for the query services to
   * switch and deletes the old generation. Returns the retired generation.
   */
  async finish(o: FinishOptions = {}): Promise<{ retired: string; generation: string; deletedKeys: number }> {
    const { redis, logger } = this.deps;
    const until = Date.now() + (o.timeoutMs ?? Infinity);
    let p = await this.progress();
    let last = { objects: -1, since: Date.now() };
    for (;;) {
      if (!p.next) throw new RolloutError('no rollout in progress');
      o.onProgress?.(p);
      if (p.pending === 0 && p.next.objects >= p.active.objects) break;
      const short = `${p.next.objects} of ${p.active.objects} objects re-encoded`;
      if (p.pending === 0) {
        if (p.next.objects !== last.objects) last = { objects: p.next.objects, since: Date.now() };
        else if (Date.now() - last.since > (o.stallMs ?? 60_000)) {
          if (o.force) break;
          throw new RolloutError(`rollout stalled: ${short} and nothing pending (see loupe dead); --finish --force promotes it anyway, --abort drops it`);
        }
      }
      if (Date.now() > until) throw new RolloutError(`rollout not complete: ${short}, ${p.pending} jobs pending`);
      await sleep(o.pollMs ?? 1000);
      p = await this.progress();
    }
    const generation = p.next.generation;
    const retired = await promoteGeneration(redis, generation);
    logger.info({ event: 'rollout-promoted', generation, retired, objects: p.next.objects }, 'new index generation active');
    await this.awaitQueryServices(generation, o.switchTimeoutMs ?? 10 * 60_000, o.pollMs ?? 1000);
    // Searches that started on the old generation just before a switch still read its shards.
    await sleep(GENERATION_DRAIN_MS + 1000);
    const deletedKeys = await deleteGeneration(redis, retired);
    logger.info({ event: 'rollout-done', generation, retired, deletedKeys }, 'old index generation deleted');
    return { retired, generation, deletedKeys };
  }

  /** Cancels a pending rollout and deletes what it had written. */
  async abort(): Promise<string | null> {
    const { redis, logger } = this.deps;
    const { next } = await readLiveLayouts(redis);
    if (!next) return null;
    await abortGeneration(redis, next.namespace);
    await deleteGeneration(redis, next.namespace);
    logger.info({ event: 'rollout-aborted', generation: next.namespace }, 'rollout aborted');
    return next.namespace;
  }

  /**
   * One ingest job per object of the source, for the new generation only. It lists the source as
   * a discovery pass would, under the same lock and with an object version of its own, so its jobs
   * are ordered with discovery's: a version discovery sees after the backfill wins in the next
   * generation, and one the backfill sees after a pass wins over that pass's.
   */
  private async backfill(generation: string): Promise<number> {
    const { source, prefix } = this.deps.source;
    const { seen, clock, logger } = this.deps;
    const token = randomUUID();
    for (let waited = false; !(await seen.acquireLock(token, DISCOVERY_LOCK_TTL_MS)); waited = true) {
      if (!waited) logger.info({ source: source.url }, 'waiting for the running discovery pass before listing the source');
      await sleep(BACKFILL_LOCK_POLL_MS);
    }
    try {
      const version = await clock.next();
      let batch: ObjectEntry[] = [];
      let queued = 0;
      const flush = async () => {
        if (!(await seen.extendLock(token, DISCOVERY_LOCK_TTL_MS))) {
          throw new RolloutError(`discovery lock of ${source.url} lost during the backfill; start the rollout again to resume it`);
        }
        await this.deps.ingestQueue.addBulk(
          batch.map((e) => ({
            name: 'upsert',
            data: { op: 'upsert', key: e.key, etag: e.etag, size: e.size, generation, version } satisfies IngestJob,
            // Without the version: a resumed rollout does not queue an object version twice.
            opts: { jobId: objectJobId(`ingest@${generation}`, e.key, e.etag) },
          })),
        );
        queued += batch.length;
        batch = [];
      };
      for await (const e of source.list(prefix)) {
        if (!isCandidateKey(e.key)) continue;
        batch.push(e);
        if (batch.length >= BACKFILL_BATCH) await flush();
      }
      if (batch.length) await flush();
      return queued;
    } finally {
      await seen.releaseLock(token).catch(() => undefined);
    }
  }

  private async awaitQueryServices(generation: string, timeoutMs: number, pollMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const behind = [...(await servedGenerations(this.deps.redis, SERVING_FRESH_MS))].filter(([, g]) => g !== generation);
      if (!behind.length) return;
      if (Date.now() > until) {
        this.deps.logger.warn({ behind: behind.length }, 'query services did not switch in time; deleting the old generation anyway');
        return;
      }
      await sleep(pollMs);
    }
  }
}
