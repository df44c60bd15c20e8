import type { Queue } from 'bullmq';
import { objectJobId, type IngestJob, type ObjectEntry } from '@loupe/shared';
import type { SeenObjectRepository, SeenVersion } from '../repositories/seen-object.repository.ts';
import type { HeldLock } from './source-lock.service.ts';

export interface UpsertCounts {
  new: number;
  changed: number;
  unchanged: number;
}

export interface ObjectJobsDeps {
  seen: SeenObjectRepository;
  ingestQueue: Queue;
  encodeQueue: Queue;
}

/**
 * Turns object versions into ingest jobs, for discovery (a listing), S3 events and a rollout's
 * backfill alike: one upsert job per new or changed version, one delete job per vanished key, the
 * `seen` hash kept in step. Every job carries the object version of the source lock held while it
 * is queued (SourceLockService), and its id includes it, so a version that comes back
 * (A -> B -> A) is a new job, and asking twice under one hold queues once.
 */
export class ObjectJobsService {
  constructor(private readonly deps: ObjectJobsDeps) {}

  /**
   * Queues the versions the seen hash does not already hold, then marks them seen. With
   * `current`, a version that differs from the seen one is first checked against the object as
   * it is now (a listing can be older than what events have applied since): only a current
   * version that the seen hash lacks is queued.
   */
  async enqueueUpserts(entries: ObjectEntry[], held: HeldLock, current?: (key: string) => Promise<ObjectEntry | null>): Promise<UpsertCounts> {
    const counts: UpsertCounts = { new: 0, changed: 0, unchanged: 0 };
    if (!entries.length) return counts;
    const { seen, ingestQueue } = this.deps;
    const { version } = held;
    const known = await seen.versions(entries.map((e) => e.key));
    const fresh: ObjectEntry[] = [];
    const superseded: SeenVersion[] = [];
    for (let i = 0; i < entries.length; i++) {
      const before = known[i];
      let e: ObjectEntry | null = entries[i];
      if (before !== null && before.etag !== e.etag && current) e = await current(e.key);
      if (!e || before?.etag === e.etag) {
        counts.unchanged++;
        continue;
      }
      if (before === null) counts.new++;
      else {
        counts.changed++;
        superseded.push(before);
      }
      fresh.push(e);
    }
    // Still ours: no other holder has stamped a newer version of these keys meanwhile.
    await held.keep();
    await this.forgetJobs(superseded);
    await ingestQueue.addBulk(
      fresh.map((e) => ({
        name: 'upsert',
        data: { op: 'upsert', key: e.key, etag: e.etag, size: e.size, version } satisfies IngestJob,
        opts: { jobId: objectJobId('ingest', e.key, e.etag, version) },
      })),
    );
    // Marked seen only once the jobs exist: a crash in between re-adds them next time (a newer
    // version, so the first jobs, if they still run, lose to them in the index).
    await seen.markSeen(fresh.map((e) => ({ key: e.key, etag: e.etag, version })));
    return counts;
  }

  /** Queues one delete job per gone version, carrying the hold's version, and forgets them. */
  async enqueueDeletes(gone: SeenVersion[], held: HeldLock): Promise<void> {
    if (!gone.length) return;
    const { seen, ingestQueue } = this.deps;
    const { version } = held;
    await held.keep();
    await this.forgetJobs(gone);
    await ingestQueue.addBulk(
      gone.map((v) => ({
        name: 'delete',
        data: { op: 'delete', key: v.key, version } satisfies IngestJob,
        // A key can vanish again after coming back: the version keeps each deletion distinct.
        opts: { jobId: objectJobId('ingest-del', v.key, String(version)) },
      })),
    );
    await seen.forget(gone.map((v) => v.key));
  }

  /**
   * Queues one upsert per entry for index generation `generation` alone (a rollout's backfill),
   * with the hold's version. The seen hash is left alone: these are copies for another generation.
   */
  async enqueueForGeneration(entries: ObjectEntry[], generation: string, held: HeldLock): Promise<void> {
    if (!entries.length) return;
    const { version } = held;
    await held.keep();
    await this.deps.ingestQueue.addBulk(
      entries.map((e) => ({
        name: 'upsert',
        data: { op: 'upsert', key: e.key, etag: e.etag, size: e.size, generation, version } satisfies IngestJob,
        // Without the version: a resumed rollout does not queue an object version twice.
        opts: { jobId: objectJobId(`ingest@${generation}`, e.key, e.etag) },
      })),
    );
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
