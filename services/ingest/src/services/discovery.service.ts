import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import {
  objectJobId,
  type IngestJob,
  type Logger,
  type ObjectEntry,
  type ObjectSource,
  type ObjectVersionClock,
} from '@loupe/shared';
import type { SeenObjectRepository, SeenVersion } from '../repositories/seen-object.repository.ts';
import { isCandidateKey } from './candidate-key.ts';

export interface DiscoveryReport {
  source: string;
  /** False when another process held the discovery lock, so this call listed nothing. */
  ran: boolean;
  /** Discovery pass number over this source (0 when not ran). */
  pass: number;
  /** Object version stamped on every job of this pass (0 when not ran). */
  version: number;
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
  clock: ObjectVersionClock;
  ingestQueue: Queue;
  encodeQueue: Queue;
  logger: Logger;
}

const BATCH = 500;
export const DISCOVERY_LOCK_TTL_MS = 60_000;

/**
 * Turns the source's state into ingest jobs: lists everything under the prefix, compares it
 * with the seen hash, and enqueues one upsert job per new or changed object version and one
 * delete job per vanished key. A pass that dies half-way is simply run again. A backfill is just
 * the first pass (empty seen hash).
 *
 * Each pass stamps one object version on all its jobs (ObjectVersionClock), under the lock, so
 * passes never overlap and a later pass's jobs always win in the index over an earlier one's,
 * whatever order they finish in. A pass that loses the lock (held past its TTL) stops.
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
    const { source, prefix, seen, logger } = this.deps;
    const started = Date.now();
    const report: DiscoveryReport = {
      source: source.url, ran: false, pass: 0, version: 0, listed: 0, skipped: 0, new: 0, changed: 0, unchanged: 0, deleted: 0, ms: 0,
    };
    const token = randomUUID();
    if (!(await seen.acquireLock(token, DISCOVERY_LOCK_TTL_MS))) {
      logger.debug({ source: source.url }, 'discovery skipped: another process holds the lock');
      return report;
    }
    try {
      report.ran = true;
      report.pass = await seen.nextPass();
      report.version = await this.deps.clock.next();
      // Versions are ordered only while passes never overlap: one that lost its lock stops.
      const holdLock = async () => {
        if (await seen.extendLock(token, DISCOVERY_LOCK_TTL_MS)) return;
        throw new Error(`discovery lock of ${source.url} lost (held past its TTL); pass ${report.pass} stopped`);
      };
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
          await holdLock();
          await this.enqueueUpserts(batch, report);
          batch = [];
        }
      }
      await holdLock();
      await this.enqueueUpserts(batch, report);
      // Deletions only after a complete listing: a listing that failed half-way throws above
      // and never makes unlisted keys look deleted.
      const gone: SeenVersion[] = [];
      for await (const page of seen.scan()) for (const v of page) if (!listedKeys.has(v.key)) gone.push(v);
      for (let i = 0; i < gone.length; i += BATCH) {
        await holdLock();
        await this.enqueueDeletes(gone.slice(i, i + BATCH), report);
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

  private async enqueueUpserts(batch: ObjectEntry[], report: DiscoveryReport): Promise<void> {
    if (!batch.length) return;
    const { seen, ingestQueue } = this.deps;
    const { version } = report;
    const known = await seen.versions(batch.map((e) => e.key));
    const fresh: ObjectEntry[] = [];
    const superseded: SeenVersion[] = [];
    batch.forEach((e, i) => {
      const before = known[i];
      if (before?.etag === e.etag) return void report.unchanged++;
      if (before === null) report.new++;
      else {
        report.changed++;
        superseded.push(before);
      }
      fresh.push(e);
    });
    await this.forgetJobs(superseded);
    await ingestQueue.addBulk(
      fresh.map((e) => ({
        name: 'upsert',
        data: { op: 'upsert', key: e.key, etag: e.etag, size: e.size, version } satisfies IngestJob,
        opts: { jobId: objectJobId('ingest', e.key, e.etag, version) },
      })),
    );
    // Marked seen only once the jobs exist: a crash in between re-adds them next pass (a newer
    // version, so the first jobs, if they still run, lose to them in the index).
    await seen.markSeen(fresh.map((e) => ({ key: e.key, etag: e.etag, version })));
  }

  private async enqueueDeletes(gone: SeenVersion[], report: DiscoveryReport): Promise<void> {
    const { seen, ingestQueue } = this.deps;
    await this.forgetJobs(gone);
    await ingestQueue.addBulk(
      gone.map((v) => ({
        name: 'delete',
        data: { op: 'delete', key: v.key, version: report.version } satisfies IngestJob,
        // A key can vanish again after coming back: the pass number keeps each deletion distinct.
        opts: { jobId: objectJobId('ingest-del', v.key, String(report.pass)) },
      })),
    );
    await seen.forget(gone.map((v) => v.key));
  }

  /**
   * Removes the finished or still-waiting jobs of superseded versions from the ingest and encode
   * queues (their ids come from key, etag and version, as the seen hash recorded them), sparing
   * the encoder stale work; the index would refuse their codes anyway. Active jobs are locked and
   * stay (remove returns 0).
   */
  private async forgetJobs(versions: SeenVersion[]): Promise<void> {
    const { ingestQueue, encodeQueue } = this.deps;
    await Promise.all(
      versions.flatMap((v) => [
        ingestQueue.remove(objectJobId('ingest', v.key, v.etag, v.version)),
        encodeQueue.remove(objectJobId('encode', v.key, v.etag, v.version)),
      ]),
    );
  }
}
