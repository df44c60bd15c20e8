import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectVersionClock } from '@loupe/shared';
import type { SourceLockRepository } from '../repositories/source-lock.repository.ts';

/**
 * Who takes a source's lock: a discovery pass and a rollout's backfill hold it for a whole listing,
 * an S3 event for the few calls that apply it to one object.
 */
export type LockHolder = 'pass' | 'backfill' | 'event';

/** What a holder gets: the object version of this hold, and a way to keep holding. */
export interface HeldLock {
  /** Taken from the version clock once the lock was taken: every job queued under it carries it. */
  readonly version: number;
  /** Extends the hold; throws SourceLockLostError when it expired and may be someone else's now. */
  keep(): Promise<void>;
}

export class SourceLockLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceLockLostError';
  }
}

/** How long a hold lasts unless kept (crashed holders free the lock after this). */
export const SOURCE_LOCK_TTL_MS = { listing: 60_000, event: 15_000 };
/** A pass's reservation of the next turn, renewed at every poll while events hold the lock. */
const TURN_RESERVE_MS = 5_000;
/** Polls while the lock is held: events hold it for milliseconds, a listing for minutes. */
const POLL_MS = { event: 20, listing: 250 };

export interface SourceLockDeps {
  locks: SourceLockRepository;
  clock: ObjectVersionClock;
  sourceUrl: string;
}

export interface HoldOptions {
  /** false: give up (null) when a pass or backfill holds the lock; events are waited out. */
  wait: boolean;
  /** Ends a wait with the signal's reason. */
  signal?: AbortSignal;
  /** Called once when the lock is held by another pass or backfill and this hold waits for it. */
  onWait?: () => void;
}

/**
 * The one way to queue jobs of a source: hold its lock and stamp them with a version taken
 * under it. Two holders of one source never overlap, so of two versions of a key the one seen
 * later always carries the larger version, whichever path saw it (a listing, an event).
 *
 * Holds in this process are taken one at a time, first come first served, so local events do not
 * starve a local pass; across processes a pass that finds events holding the lock reserves the
 * next turn (SourceLockRepository), and events do not take a reserved lock.
 */
export class SourceLockService {
  private turn: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SourceLockDeps) {}

  /** Runs `fn` holding the lock; null when `wait` is false and a listing holds it elsewhere. */
  hold<T>(holder: LockHolder, fn: (held: HeldLock) => Promise<T>, options: HoldOptions & { wait: true }): Promise<T>;
  hold<T>(holder: LockHolder, fn: (held: HeldLock) => Promise<T>, options: HoldOptions): Promise<T | null>;
  async hold<T>(holder: LockHolder, fn: (held: HeldLock) => Promise<T>, options: HoldOptions): Promise<T | null> {
    const leave = await this.localTurn(options.signal);
    try {
      return await this.holdRedisLock(holder, fn, options);
    } finally {
      leave();
    }
  }

  private async holdRedisLock<T>(holder: LockHolder, fn: (held: HeldLock) => Promise<T>, options: HoldOptions): Promise<T | null> {
    const { locks, clock, sourceUrl } = this.deps;
    const listing = holder !== 'event';
    const ttl = listing ? SOURCE_LOCK_TTL_MS.listing : SOURCE_LOCK_TTL_MS.event;
    const token = `${listing ? 'list' : 'short'}:${holder}:${randomUUID()}`;
    let told = false;
    for (;;) {
      options.signal?.throwIfAborted();
      const attempt = await locks.acquire(token, ttl, listing ? TURN_RESERVE_MS : 0);
      if (attempt.taken) break;
      const byEvent = attempt.holder.startsWith('short:');
      if (!byEvent && !options.wait) return null;
      if (!byEvent && !told) {
        told = true;
        options.onWait?.();
      }
      await sleep(byEvent ? POLL_MS.event : POLL_MS.listing, undefined, { signal: options.signal });
    }
    try {
      const version = await clock.next();
      const keep = async () => {
        if (await locks.extend(token, ttl)) return;
        throw new SourceLockLostError(`lock of ${sourceUrl} lost (held past its ${ttl} ms TTL) by a ${holder}`);
      };
      return await fn({ version, keep });
    } finally {
      await locks.release(token).catch(() => undefined);
    }
  }

  /** Waits for the holds asked for earlier in this process; returns the function that ends ours. */
  private async localTurn(signal?: AbortSignal): Promise<() => void> {
    let leave!: () => void;
    const ours = new Promise<void>((resolve) => (leave = resolve));
    const before = this.turn;
    this.turn = before.then(() => ours);
    if (!signal) {
      await before;
      return leave;
    }
    try {
      await untilAborted(before, signal);
    } catch (e) {
      // Our place in the line passes on to the next one as soon as it comes.
      void before.then(leave);
      throw e;
    }
    return leave;
  }
}

function untilAborted(p: Promise<void>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
