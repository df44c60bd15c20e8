import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import {
  abortGeneration,
  beginGeneration,
  deleteGeneration,
  GENERATION_DRAIN_MS,
  generationNamespace,
  liveObjectCount,
  PENDING_JOB_STATES,
  pendingJobs,
  promoteGeneration,
  readLiveLayouts,
  servedGenerations,
  type HashModel,
  type Logger,
  type RedisClient,
  type StoredIndexLayout,
  type ObjectEntry,
  type ConfiguredSource,
} from '@loupe/shared';
import { isCandidateKey } from './candidate-key.ts';
import type { ObjectJobsService } from './object-jobs.service.ts';
import { SourceLockLostError, type SourceLockService } from './source-lock.service.ts';

export interface RolloutDeps {
  redis: RedisClient;
  source: ConfiguredSource;
  /** The source's lock: the backfill lists under it, so it never overlaps a pass or an event. */
  lock: SourceLockService;
  jobs: ObjectJobsService;
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

  /**
   * Starts (or resumes) the rollout of `modelRef` into `shards` shards (default the active index's
   * count); returns the generation and the re-encode jobs queued. The model must differ from the
   * index's: encoders and the indexer tell the generations apart by their models.
   */
  async begin(modelRef: string, options: { shards?: number } = {}): Promise<{ generation: string; model: string; shards: number; queued: number }> {
    const { redis, logger } = this.deps;
    const { active, next } = await readLiveLayouts(redis);
    if (!active) throw new RolloutError('nothing is indexed yet: set LOUPE_MODEL and start the pipeline instead');
    const model = await this.deps.loadModel(modelRef);
    const shards = options.shards ?? active.shards;
    if (model.id === active.model) throw new RolloutError(`the index already uses model ${model.id}${shards !== active.shards ? ' (a rollout changes the shard count only together with the model)' : ''}`);
    if (next && next.model !== model.id) throw new RolloutError(`a rollout of model ${next.model} is in progress (generation ${next.namespace}); finish or abort it first`);
    // Ingest computes the views once for every generation, so they must share the view plan.
    if (JSON.stringify(model.plan) !== JSON.stringify(active.plan)) throw new RolloutError(`model ${model.id} has another view plan than the index; re-index into a fresh Redis instead`);
    const generation = generationNamespace(model.id);
    if (next && next.shards !== shards) throw new RolloutError(`the rollout of ${next.model} in progress is into ${next.shards} shards; finish or abort it first`);
    await beginGeneration(redis, { shards, bits: model.bits, plan: model.plan, model: model.id, namespace: generation, modelRef });
    const queued = await this.backfill(generation);
    logger.info({ event: 'rollout-begin', generation, model: model.id, bits: model.bits, shards, queued }, 'rollout started');
    return { generation, model: model.id, shards, queued };
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
    const { lock, jobs, logger } = this.deps;
    const onWait = () => logger.info({ source: source.url }, 'waiting for the running discovery pass before listing the source');
    try {
      return await lock.hold('backfill', async (held) => {
        let batch: ObjectEntry[] = [];
        let queued = 0;
        for await (const e of source.list(prefix)) {
          if (!isCandidateKey(e.key)) continue;
          batch.push(e);
          if (batch.length < BACKFILL_BATCH) continue;
          await jobs.enqueueForGeneration(batch, generation, held);
          queued += batch.length;
          batch = [];
        }
        await jobs.enqueueForGeneration(batch, generation, held);
        return queued + batch.length;
      }, { wait: true, onWait });
    } catch (e) {
      if (e instanceof SourceLockLostError) throw new RolloutError(`${e.message} during the backfill; start the rollout again to resume it`);
      throw e;
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
