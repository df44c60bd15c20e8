import type { Logger, ObjectEntry, ObjectSource } from '@loupe/shared';
import type { SeenObjectRepository, SeenVersion } from '../repositories/seen-object.repository.ts';
import { isCandidateKey } from './candidate-key.ts';
import type { ObjectJobsService, UpsertCounts } from './object-jobs.service.ts';
import type { HeldLock, SourceLockService } from './source-lock.service.ts';
import { SourceRetryAbortedError, type SourceRetryService } from './source-retry.service.ts';

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
  lock: SourceLockService;
  jobs: ObjectJobsService;
  /** Waits out a source that times out or answers 5xx (the listing starts over once it answers). */
  retry: SourceRetryService;
  logger: Logger;
  /** Ingest is stopping: a listing in progress ends at the object it is at (a bucket's listing takes minutes). */
  stop?: AbortSignal;
  /**
   * Something else (S3 events) also turns changes into jobs: a difference between the listing and
   * the seen hash is then checked against the object as it is now (one HEAD per difference)
   * before it becomes a job, so a listing that lags behind the events applied before it (a store
   * whose listings are eventually consistent) undoes nothing.
   */
  confirmChanges?: boolean;
}

const BATCH = 500;
/** Objects looked up at once when confirming differences. */
const CONFIRM_PARALLEL = 16;

/**
 * Turns the source's state into ingest jobs: lists everything under the prefix, compares it
 * with the seen hash, and enqueues one upsert job per new or changed object version and one
 * delete job per vanished key (ObjectJobsService). A pass that dies half-way is simply run again.
 * A backfill is just the first pass (empty seen hash).
 *
 * A pass holds the source's lock throughout and stamps one object version on all its jobs
 * (SourceLockService), so it never overlaps another pass, a backfill or an S3 event, and whatever
 * is queued after it (a later pass, an event) wins over it in the index, in whatever order the
 * jobs finish. A pass that loses the lock (held past its TTL) stops.
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
    const { source, lock, logger } = this.deps;
    const report: DiscoveryReport = {
      source: source.url, ran: false, pass: 0, version: 0, listed: 0, skipped: 0, new: 0, changed: 0, unchanged: 0, deleted: 0, ms: 0,
    };
    const ran = await lock.hold('pass', (held) => this.listUnder(held, report), { wait: false });
    if (ran === null) logger.debug({ source: source.url }, 'discovery skipped: another process holds the lock');
    return report;
  }

  private async listUnder(held: HeldLock, report: DiscoveryReport): Promise<true> {
    const { source, seen, jobs, retry, logger, confirmChanges } = this.deps;
    const current = confirmChanges ? (key: string) => retry.read(key, () => source.stat(key)) : undefined;
    const started = Date.now();
    report.ran = true;
    report.pass = await seen.nextPass();
    report.version = held.version;
    // A listing that fails half-way starts over once the source answers (still holding the lock,
    // same version): what it queued is known by then (unchanged), and job ids make queuing it
    // again harmless.
    const listedKeys = await retry.read('list', async () => {
      await held.keep();
      Object.assign(report, { listed: 0, skipped: 0, new: 0, changed: 0, unchanged: 0 });
      return this.listAndEnqueue(held, report, current);
    });
    // Deletions only after a complete listing: a listing that failed half-way throws above
    // and never makes unlisted keys look deleted.
    const gone: SeenVersion[] = [];
    for await (const page of seen.scan()) for (const v of page) if (!listedKeys.has(v.key)) gone.push(v);
    for (let i = 0; i < gone.length; i += BATCH) {
      await held.keep();
      let slice = gone.slice(i, i + BATCH);
      if (current) slice = await this.stillGone(slice, current);
      await jobs.enqueueDeletes(slice, held);
      report.deleted += slice.length;
    }
    // The listing is complete: the re-list schedule with events on counts from its start.
    await seen.markListed(started);
    report.ms = Date.now() - started;
    // A pass that found nothing new is routine (every LOUPE_POLL_MS): debug, not info.
    const changed = report.new + report.changed + report.deleted > 0;
    logger[changed || report.pass === 1 ? 'info' : 'debug']({ event: 'discovery', ...report }, 'discovery pass done');
    return true;
  }

  /** Lists the prefix and queues an upsert per new or changed version; returns the candidate keys listed. */
  private async listAndEnqueue(
    held: HeldLock,
    report: DiscoveryReport,
    current: ((key: string) => Promise<ObjectEntry | null>) | undefined,
  ): Promise<Set<string>> {
    const { source, prefix, jobs } = this.deps;
    const listedKeys = new Set<string>();
    let batch: ObjectEntry[] = [];
    for await (const entry of source.list(prefix)) {
      // Ended like a pass that fails half-way: the next one lists again, and deletions wait for it.
      if (this.deps.stop?.aborted) throw new SourceRetryAbortedError();
      report.listed++;
      if (!isCandidateKey(entry.key)) {
        report.skipped++;
        continue;
      }
      listedKeys.add(entry.key);
      batch.push(entry);
      if (batch.length >= BATCH) {
        await held.keep();
        this.count(await jobs.enqueueUpserts(batch, held, current), report);
        batch = [];
      }
    }
    await held.keep();
    this.count(await jobs.enqueueUpserts(batch, held, current), report);
    return listedKeys;
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
