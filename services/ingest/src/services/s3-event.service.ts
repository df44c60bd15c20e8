import type { Logger, ObjectEntry, ObjectSource } from '@loupe/shared';
import type { EventSequencerRepository } from '../repositories/event-sequencer.repository.ts';
import type { SeenObjectRepository } from '../repositories/seen-object.repository.ts';
import { isCandidateKey } from './candidate-key.ts';
import type { ObjectJobsService } from './object-jobs.service.ts';
import { compareSequencers, parseS3EventMessage, type ObjectEvent } from './s3-event-message.ts';
import type { HeldLock, SourceLockService } from './source-lock.service.ts';
import type { SourceRetryService } from './source-retry.service.ts';

export interface S3EventDeps {
  /** The bucket and key prefix LOUPE_SOURCE names: events elsewhere are not ours. */
  bucket: string;
  prefix: string;
  source: ObjectSource;
  seen: SeenObjectRepository;
  sequencers: EventSequencerRepository;
  lock: SourceLockService;
  jobs: ObjectJobsService;
  /** Waits out a source that times out or answers 5xx on the HEADs some events need. */
  retry: SourceRetryService;
  logger: Logger;
}

/** What became of one message's records. */
export interface EventCounts {
  /** Records that queued a job or found their change already queued. */
  applied: number;
  /** Records not newer than the last one applied to their key (redelivered or late): dropped. */
  stale: number;
  /** Records of another bucket or prefix, of keys that are not images, or not changing content; test events. */
  ignored: number;
}

/**
 * Applies S3 event notifications through the same jobs discovery makes (ObjectJobsService): a
 * creation queues an upsert of the event's object version, a removal queues a delete. Events
 * arrive at least once and in any order, so the last applied sequencer of each key is kept and an
 * event that is not newer changes nothing. Each event is applied holding the source's lock, as a
 * discovery pass lists under it (SourceLockService): its jobs carry a version from the same clock,
 * newer than those of any pass before it and older than those of any pass after it; while a pass
 * runs, events wait for it. A message that is not an S3 event notification throws
 * EventMessageError; other errors (Redis, S3, an aborted wait) throw as they are, and the caller
 * leaves the message for SQS to deliver again.
 */
export class S3EventService {
  private readonly keyChains = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: S3EventDeps) {}

  /** Applies one message; `signal` ends a wait for the lock (the message is then not applied). */
  async handle(body: string, signal?: AbortSignal): Promise<EventCounts> {
    const message = parseS3EventMessage(body);
    const counts: EventCounts = { applied: 0, stale: 0, ignored: 0 };
    if (message.kind === 'test') {
      counts.ignored++;
      return counts;
    }
    counts.ignored += message.other.length;
    for (const event of message.events) counts[await this.applyOne(event, signal)]++;
    return counts;
  }

  private applyOne(event: ObjectEvent, signal?: AbortSignal): Promise<keyof EventCounts> {
    const { bucket, prefix } = this.deps;
    if (event.bucket !== bucket || !event.key.startsWith(prefix) || !isCandidateKey(event.key)) return Promise.resolve('ignored');
    const before = this.keyChains.get(event.key) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(() => this.deps.lock.hold('event', (held) => this.applyInOrder(event, held), { wait: true, signal }));
    const tail = run.catch(() => undefined);
    this.keyChains.set(event.key, tail);
    void tail.then(() => {
      if (this.keyChains.get(event.key) === tail) this.keyChains.delete(event.key);
    });
    return run;
  }

  private async applyInOrder(event: ObjectEvent, held: HeldLock): Promise<'applied' | 'stale'> {
    const { sequencers, logger } = this.deps;
    const { key, sequencer } = event;
    if (sequencer) {
      const last = await sequencers.get(key);
      if (last !== null && compareSequencers(sequencer, last) <= 0) {
        logger.debug({ event: 'object-event', outcome: 'stale', op: event.op, key, sequencer, last }, 'event not newer than the last applied: dropped');
        return 'stale';
      }
    }
    const outcome = event.op === 'created' ? await this.created(event, held) : await this.removed(event, held);
    // Recorded only once the jobs exist: a crash in between applies the event again on redelivery.
    if (sequencer) await sequencers.set(key, sequencer);
    logger.debug({ event: 'object-event', outcome, op: event.op, name: event.name, key, etag: event.etag, sequencer, version: held.version }, 'event applied');
    return 'applied';
  }

  private async created(event: ObjectEvent, held: HeldLock): Promise<string> {
    const { jobs } = this.deps;
    let entry = event.etag !== undefined && event.size !== undefined ? { key: event.key, etag: event.etag, size: event.size } : null;
    // A store that leaves eTag or size out of its events: the object itself says.
    if (!entry) entry = await this.stat(event.key, held);
    if (!entry) return 'gone'; // deleted since; its removal event follows
    const counts = await jobs.enqueueUpserts([entry], held);
    return counts.unchanged ? 'unchanged' : counts.new ? 'new' : 'changed';
  }

  private async removed(event: ObjectEvent, held: HeldLock): Promise<string> {
    const { seen, jobs } = this.deps;
    const [known] = await seen.versions([event.key]);
    // Never queued, or its deletion already is.
    if (known === null) return 'unknown';
    // A non-current version deleted in a versioned bucket, or the key created again since: the
    // object is there, and its own creation event (or the next re-list) says which version.
    if (await this.stat(event.key, held)) return 'still-there';
    await jobs.enqueueDeletes([known], held);
    return 'deleted';
  }

  /**
   * The object as it is now, the source's outages waited out. A wait can outlast the event's hold
   * of the lock: keeping it afterwards throws if it lapsed (the message is then delivered again),
   * so a job is never queued under a version another holder may have passed meanwhile.
   */
  private async stat(key: string, held: HeldLock): Promise<ObjectEntry | null> {
    const { source, retry } = this.deps;
    const entry = await retry.read(key, () => source.stat(key));
    await held.keep();
    return entry;
  }
}
