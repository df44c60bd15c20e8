import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import {
  objectJobId,
  type IngestJob,
  type Logger,
  type ObjectEntry,
  type ObjectSource,
} from '@loupe/shared';
import type { SeenObjectRepository, SeenVersion } from '../repositories/seen-object.repository.ts';
import { isCandidateKey } from './candidate-key.ts';
import type { SourceRetryService } from './source-retry.service.ts';

export interface DiscoveryReport {
  source: string;
  /** False when another process held the discovery lock, so this call listed nothing. */
  ran: boolean;
  /** Discovery pass number over this source (0 when not ran). */
  pass: number;
  listed: number;
  /** Listed but not image candidates (see candidate-key.ts). */
  skipped: number;
  new: number;
  changed: number;
  unchanged: number;
  deleted: number;
  ms: number;
}

export interface DiscoveryDeps {
  source: ObjectSource;
  prefix: string;
  seen: SeenObjectRepository;
  ingestQueue: Queue;
  encodeQueue: Queue;
  /** Waits out a source that times out or answers 5xx (the listing starts over once it answers). */
  retry: SourceRetryService;
  logger: Logger;
}

const BATCH = 500;
const LOCK_TTL_MS = 60_000;

/**
 * Turns the source's state into ingest jobs: lists everything under the prefix, compares it
 * with the seen hash, and enqueues one upsert job per new or changed object version and one
 * delete job per vanished key. Job ids make every step idempotent: a pass that dies half-way is
 * simply run again. A backfill is just the first pass (empty seen hash).
 */
export class DiscoveryService {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: DiscoveryDeps) {}

  /** One pass; passes in this process run one after the other. */
  discoverOnce(): Promise<DiscoveryReport> {
    const run = this.chain.then(() => this.pass());
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Resolves once no pass is running in this process. */
  async settled(): Promise<void> {
    await this.chain;
  }

  private async pass(): Promise<DiscoveryReport> {
    const { source, seen, logger } = this.deps;
    const started = Date.now();
    const report: DiscoveryReport = {
      source: source.url, ran: false, pass: 0, listed: 0, skipped: 0, new: 0, changed: 0, unchanged: 0, deleted: 0, ms: 0,
    };
    const token = randomUUID();
    if (!(await seen.acquireLock(token, LOCK_TTL_MS))) {
      logger.debug({ source: source.url }, 'discovery skipped: another process holds the lock');
      return report;
    }
    try {
      report.ran = true;
      report.pass = await seen.nextPass();
      // A listing that fails half-way starts over once the source answers: what it queued is
      // known by then (unchanged), and job ids make queuing it again harmless.
      const listedKeys = await this.deps.retry.read('list', async () => {
        await seen.extendLock(token, LOCK_TTL_MS);
        Object.assign(report, { listed: 0, skipped: 0, new: 0, changed: 0, unchanged: 0 });
        return this.listAndEnqueue(report, token);
      });
      // Deletions only after a complete listing: a listing that failed half-way throws above
      // and never makes unlisted keys look deleted.
      const gone: SeenVersion[] = [];
      for await (const page of seen.scan()) for (const v of page) if (!listedKeys.has(v.key)) gone.push(v);
      for (let i = 0; i < gone.length; i += BATCH) {
        await this.enqueueDeletes(gone.slice(i, i + BATCH), report.pass);
        await seen.extendLock(token, LOCK_TTL_MS);
      }
      report.deleted = gone.length;
      report.ms = Date.now() - started;
      // A pass that found nothing new is routine (every LOUPE_POLL_MS): debug, not info.
      const changed = report.new + report.changed + report.deleted > 0;
      logger[changed || report.pass === 1 ? 'info' : 'debug']({ event: 'discovery', ...report }, 'discovery pass done');
      return report;
    } finally {
      await seen.releaseLock(token).catch(() => undefined);
    }
  }

  /** Lists the prefix and queues an upsert per new or changed version; returns the candidate keys listed. */
  private async listAndEnqueue(report: DiscoveryReport, token: string): Promise<Set<string>> {
    const { source, prefix, seen } = this.deps;
    const listedKeys = new Set<string>();
    let batch: ObjectEntry[] = [];
    for await (const entry of source.list(prefix)) {
      report.listed++;
      if (!isCandidateKey(entry.key)) {
        report.skipped++;
        continue;
      }
      listedKeys.add(entry.key);
      batch.push(entry);
      if (batch.length >= BATCH) {
        await this.enqueueUpserts(batch, report);
        await seen.extendLock(token, LOCK_TTL_MS);
        batch = [];
      }
    }
    await this.enqueueUpserts(batch, report);
    return listedKeys;
  }

  private async enqueueUpserts(batch: ObjectEntry[], report: DiscoveryReport): Promise<void> {
    if (!batch.length) return;
    const { seen, ingestQueue } = this.deps;
    const known = await seen.etags(batch.map((e) => e.key));
    const fresh: ObjectEntry[] = [];
    const superseded: SeenVersion[] = [];
    batch.forEach((e, i) => {
      const before = known[i];
      if (before === e.etag) return void report.unchanged++;
      if (before === null) report.new++;
      else {
        report.changed++;
        superseded.push({ key: e.key, etag: before });
      }
      fresh.push(e);
    });
    await this.forgetJobs(superseded);
    await ingestQueue.addBulk(
      fresh.map((e) => ({
        name: 'upsert',
        data: { op: 'upsert', key: e.key, etag: e.etag, size: e.size } satisfies IngestJob,
        opts: { jobId: objectJobId('ingest', e.key, e.etag) },
      })),
    );
    // Marked seen only once the jobs exist: a crash in between re-adds them (same ids) next pass.
    await seen.markSeen(fresh);
  }

  private async enqueueDeletes(gone: SeenVersion[], pass: number): Promise<void> {
    const { seen, ingestQueue } = this.deps;
    await this.forgetJobs(gone);
    await ingestQueue.addBulk(
      gone.map((v) => ({
        name: 'delete',
        data: { op: 'delete', key: v.key } satisfies IngestJob,
        // A key can vanish again after coming back: the pass number keeps each deletion distinct.
        opts: { jobId: objectJobId('ingest-del', v.key, String(pass)) },
      })),
    );
    await seen.forget(gone.map((v) => v.key));
  }

  /**
   * Removes the finished or still-waiting jobs of superseded versions from the ingest and encode
   * queues. Job ids come from (key, etag), and BullMQ ignores an add whose id it still holds, so
   * without this a version that comes back (A -> B -> A, or delete then re-upload of the same
   * bytes) would be silently dropped. It also spares the encoder stale work. Active jobs are
   * locked and stay (remove returns 0).
   */
  private async forgetJobs(versions: SeenVersion[]): Promise<void> {
    const { ingestQueue, encodeQueue } = this.deps;
    await Promise.all(
      versions.flatMap((v) => [
        ingestQueue.remove(objectJobId('ingest', v.key, v.etag)),
        encodeQueue.remove(objectJobId('encode', v.key, v.etag)),
      ]),
    );
  }
}
