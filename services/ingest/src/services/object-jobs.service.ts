import type { Queue } from 'bullmq';
import { objectJobId, type IngestJob, type ObjectEntry } from '@loupe/shared';
import type { SeenObjectRepository, SeenVersion } from '../repositories/seen-object.repository.ts';

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
 * Turns object versions into ingest jobs, for discovery (a listing) and for S3 events alike:
 * one upsert job per new or changed version, one delete job per vanished key, and the `seen` hash
 * kept in step. Job ids derive from (key, etag), so asking twice queues once.
 */
export class ObjectJobsService {
  constructor(private readonly deps: ObjectJobsDeps) {}

  /**
   * Queues the versions the seen hash does not already hold, then marks them seen. With
   * `current`, a version that differs from the seen one is first checked against the object as
   * it is now (a listing can be older than what events have applied since): only a current
   * version that the seen hash lacks is queued.
   */
  async enqueueUpserts(entries: ObjectEntry[], current?: (key: string) => Promise<ObjectEntry | null>): Promise<UpsertCounts> {
    const counts: UpsertCounts = { new: 0, changed: 0, unchanged: 0 };
    if (!entries.length) return counts;
    const { seen, ingestQueue } = this.deps;
    const known = await seen.etags(entries.map((e) => e.key));
    const fresh: ObjectEntry[] = [];
    const superseded: SeenVersion[] = [];
    for (let i = 0; i < entries.length; i++) {
      const before = known[i];
      let e: ObjectEntry | null = entries[i];
      if (before !== null && before !== e.etag && current) e = await current(e.key);
      if (!e || before === e.etag) {
        counts.unchanged++;
        continue;
      }
      if (before === null) counts.new++;
      else {
        counts.changed++;
        superseded.push({ key: e.key, etag: before });
      }
      fresh.push(e);
    }
    await this.forgetJobs(superseded);
    await ingestQueue.addBulk(
      fresh.map((e) => ({
        name: 'upsert',
        data: { op: 'upsert', key: e.key, etag: e.etag, size: e.size } satisfies IngestJob,
        opts: { jobId: objectJobId('ingest', e.key, e.etag) },
      })),
    );
    // Marked seen only once the jobs exist: a crash in between re-adds them (same ids) next time.
    await seen.markSeen(fresh);
    return counts;
  }

  /**
   * Queues one delete job per gone version and forgets them. `occasion` keeps each deletion
   * distinct (a key can vanish again after coming back): a pass number, an event's sequencer.
   */
  async enqueueDeletes(gone: SeenVersion[], occasion: string): Promise<void> {
    if (!gone.length) return;
    const { seen, ingestQueue } = this.deps;
    await this.forgetJobs(gone);
    await ingestQueue.addBulk(
      gone.map((v) => ({
        name: 'delete',
        data: { op: 'delete', key: v.key } satisfies IngestJob,
        opts: { jobId: objectJobId('ingest-del', v.key, occasion) },
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
