import { randomUUID } from 'node:crypto';
import type { Logger, ObjectEntry, ObjectSource } from '@loupe/shared';
import type { SeenObjectRepository, SeenVersion } from '../repositories/seen-object.repository.ts';
import { isCandidateKey } from './candidate-key.ts';
import type { ObjectJobsService, UpsertCounts } from './object-jobs.service.ts';

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
  jobs: ObjectJobsService;
  logger: Logger;
  /**
   * Something else (S3 events) also turns changes into jobs while a pass lists: a difference
   * between the listing and the seen hash is then checked against the object as it is now
   * (one HEAD per difference) before it becomes a job, so a stale listing undoes nothing.
   */
  confirmChanges?: boolean;
}

const BATCH = 500;
const LOCK_TTL_MS = 60_000;
/** Objects looked up at once when confirming differences. */
const CONFIRM_PARALLEL = 16;

/**
 * Turns the source's state into ingest jobs: lists everything under the prefix, compares it
 * with the seen hash, and enqueues one upsert job per new or changed object version and one
 * delete job per vanished key (ObjectJobsService). Job ids make every step idempotent: a pass
 * that dies half-way is simply run again. A backfill is just the first pass (empty seen hash).
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
    const { source, prefix, seen, jobs, logger, confirmChanges } = this.deps;
    const current = confirmChanges ? (key: string) => source.stat(key) : undefined;
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
          this.count(await jobs.enqueueUpserts(batch, current), report);
          await seen.extendLock(token, LOCK_TTL_MS);
          batch = [];
        }
      }
      this.count(await jobs.enqueueUpserts(batch, current), report);
      // Deletions only after a complete listing: a listing that failed half-way throws above
      // and never makes unlisted keys look deleted.
      const gone: SeenVersion[] = [];
      for await (const page of seen.scan()) for (const v of page) if (!listedKeys.has(v.key)) gone.push(v);
      for (let i = 0; i < gone.length; i += BATCH) {
        let slice = gone.slice(i, i + BATCH);
        if (current) slice = await this.stillGone(slice, current);
        await jobs.enqueueDeletes(slice, String(report.pass));
        report.deleted += slice.length;
        await seen.extendLock(token, LOCK_TTL_MS);
      }
      // The listing is complete: the re-list schedule with events on counts from its start.
      await seen.markListed(started);
      report.ms = Date.now() - started;
      // A pass that found nothing new is routine (every LOUPE_POLL_MS): debug, not info.
      const changed = report.new + report.changed + report.deleted > 0;
      logger[changed || report.pass === 1 ? 'info' : 'debug']({ event: 'discovery', ...report }, 'discovery pass done');
      return report;
    } finally {
      await seen.releaseLock(token).catch(() => undefined);
    }
  }

  /** The versions whose key does not exist now (created again since the listing passed it: kept). */
  private async stillGone(gone: SeenVersion[], current: (key: string) => Promise<ObjectEntry | null>): Promise<SeenVersion[]> {
    const out: SeenVersion[] = [];
    for (let i = 0; i < gone.length; i += CONFIRM_PARALLEL) {
      const slice = gone.slice(i, i + CONFIRM_PARALLEL);
      const now = await Promise.all(slice.map((v) => current(v.key)));
      slice.forEach((v, j) => now[j] === null && out.push(v));
    }
    return out;
  }

  private count(counts: UpsertCounts, report: DiscoveryReport): void {
    report.new += counts.new;
    report.changed += counts.changed;
    report.unchanged += counts.unchanged;
  }
}
