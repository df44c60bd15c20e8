import type { Queue } from 'bullmq';
import {
  indexJobId,
  objectJobId,
  parseFrameKey,
  retryJobId,
  type DeadLetterPage,
  type DeadLetterRepository,
  type IngestJob,
  type LiveGenerations,
  type Logger,
  type ObjectSource,
} from '@loupe/shared';
import type { SeenObjectRepository } from '../repositories/seen-object.repository.ts';

export interface DeadLetterDeps {
  failed: DeadLetterRepository;
  source: ObjectSource;
  /** What the source's jobs were last stamped with (object versions). */
  seen: SeenObjectRepository;
  ingestQueue: Queue;
  encodeQueue: Queue;
  indexQueue: Queue;
  generations: LiveGenerations;
  logger: Logger;
}

/** What a retry did with one dead letter. */
export type RetryOutcome = 'requeued' | 'dropped';

export interface RetryReport {
  requeued: number;
  dropped: number;
}

/** Dead letters retried at once by retryAll (each is a source stat and a few queue calls). */
const RETRY_BATCH = 32;

/**
 * The objects whose current version failed, and their retry: the key's current version goes
 * back on the ingest queue (the whole pipeline again, as the stored raster of a failed encode is
 * not kept), or, when the key is gone from the source, it is simply no longer failed.
 *
 * A retry carries the object version the key was last queued with (the seen hash), not a new
 * one: it re-runs that version, so it cannot win in the index over a version queued after it,
 * and it needs no source lock (a retry is not held up by a discovery pass).
 */
export class DeadLetterService {
  constructor(private readonly deps: DeadLetterDeps) {}

  list(limit: number, cursor?: string): Promise<DeadLetterPage> {
    return this.deps.failed.list(limit, cursor);
  }

  /** Retries one dead letter; null when the key is not one. */
  async retry(key: string): Promise<RetryOutcome | null> {
    if (!(await this.deps.failed.get(key))) return null;
    return this.requeue(key);
  }

  /** Retries every dead letter, newest first. */
  async retryAll(): Promise<RetryReport> {
    const report: RetryReport = { requeued: 0, dropped: 0 };
    let cursor: string | undefined;
    do {
      // The cursor is a position, not an entry: entries dropped or failing again meanwhile do not
      // make the walk skip or repeat the others.
      const page = await this.deps.failed.list(RETRY_BATCH, cursor);
      for (const outcome of await Promise.all(page.deadLetters.map((d) => this.requeue(d.key)))) report[outcome]++;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    this.deps.logger.info({ event: 'dead-letter-retry-all', ...report }, 'dead letters retried');
    return report;
  }

  /** A video's keyframe (`<video>#t=<s>`, failed at the encoder or the indexer) is retried by cutting its video again. */
  private async requeue(key: string): Promise<RetryOutcome> {
    const { failed, source, seen, ingestQueue, logger } = this.deps;
    const object = parseFrameKey(key)?.key ?? key;
    const current = await source.stat(object);
    if (!current) {
      await failed.clear([key]);
      logger.info({ event: 'dead-letter-dropped', key }, 'dead letter dropped: the object no longer exists');
      return 'dropped';
    }
    const [known] = await seen.versions([object]);
    const version = known?.version;
    await this.forgetJobs(key, current.etag, version);
    const job: IngestJob = { op: 'upsert', key: object, etag: current.etag, size: current.size, ...(version !== undefined ? { version } : {}) };
    await ingestQueue.add('upsert', job, { jobId: retryJobId(object, current.etag, Date.now()) });
    logger.info({ event: 'dead-letter-retry', key, etag: current.etag, version }, 'dead letter re-queued');
    return 'requeued';
  }

  /**
   * Removes the finished jobs this version left on the encode and index queues: their ids come
   * from (key, etag, version), so BullMQ would silently drop the retry's own encode and index jobs.
   */
  private async forgetJobs(key: string, etag: string, version: number | undefined): Promise<void> {
    const { encodeQueue, indexQueue, generations } = this.deps;
    const layouts = await generations.list();
    await Promise.all([
      encodeQueue.remove(objectJobId('encode', key, etag, version)),
      ...layouts.flatMap((l) => [
        encodeQueue.remove(objectJobId(`encode@${l.namespace}`, key, etag, version)),
        indexQueue.remove(indexJobId(key, etag, l.model, version)),
      ]),
    ]);
  }
}
