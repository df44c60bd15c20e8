import { ImageRejectedError, ObjectGoneError, parseFrameKey, sourceThumbnail, type ImageLimits, type Logger, type ObjectSource } from '@loupe/shared';
import type { ThumbnailBatch } from './query.service.ts';

export interface SourceThumbnailOptions {
  /** Thumbnails kept (4 kB each at 64 px). */
  capacity: number;
  /** A cached thumbnail is made again after this long: an object replaced under its key is re-read. */
  maxAgeMs: number;
  /** Images read and decoded at once, over all queries (LOUPE_VERIFY_SOURCE_READS); the others wait their turn. */
  concurrency: number;
  /**
   * How long one query waits for its candidates' thumbnails (LOUPE_VERIFY_SOURCE_BUDGET_MS). A
   * candidate not ready by then is left unchecked (keeps its rank); that is this service being
   * busy, not the source failing, so it never counts towards pausing the source.
   */
  budgetMs: number;
  /** A read the source has not answered this long after it began is a failure of the source. */
  readTimeoutMs: number;
  /**
   * After this many reads in a row fail (errors or timeouts of the source itself: not a deleted
   * object, a bad image or our own queue), the source is left alone for pauseMs: queries then
   * skip the pixel check at once instead of each waiting for the source.
   */
  pauseAfter: number;
  pauseMs: number;
}

const DEFAULTS: SourceThumbnailOptions = { capacity: 4096, maxAgeMs: 5 * 60_000, concurrency: 8, budgetMs: 2000, readTimeoutMs: 10_000, pauseAfter: 5, pauseMs: 30_000 };

/** What a query got for one candidate: a thumbnail, none, or none because its budget ran out first. */
const OUT_OF_TIME = Symbol('out of time');

/** One thumbnail being made (or waiting for a read slot), shared by every query that wants it. */
interface ThumbnailRead {
  key: string;
  side: number;
  /**
   * Undefined when no thumbnail could be made; OUT_OF_TIME when the read was dropped before it began
   * (every query waiting for it had run out of time: under load the drop can come before their timers).
   */
  thumb: Promise<Uint8Array | undefined | typeof OUT_OF_TIME>;
  settle: (thumb: Uint8Array | undefined | typeof OUT_OF_TIME) => void;
  /** The latest deadline of the queries waiting for it: a read nobody waits for any more is not begun. */
  wantedUntil: number;
  madeAt: number;
}


class SourceReadTimeoutError extends Error {
  constructor(key: string, ms: number) {
    super(`${key}: the source did not answer within ${ms} ms`);
    this.name = 'SourceReadTimeoutError';
  }
}

/**
 * Thumbnails of indexed images made from the bucket, for the pixel check of a crop query's top
 * candidates when the index keeps none: the index stays at its searched codes, and the check reads
 * the ~10 candidates' originals instead (sourceThumbnail: the same bytes a pixel level would hold).
 * Reads go through a queue of `concurrency` slots shared by all queries, and each query waits at
 * most `budgetMs` for its candidates. Recently made thumbnails are cached, as the same popular
 * images come back as candidates.
 */
export class SourceThumbnailService {
  private readonly cache = new Map<string, ThumbnailRead>();
  private readonly queue: ThumbnailRead[] = [];
  private running = 0;
  private readonly options: SourceThumbnailOptions;
  private failuresInARow = 0;
  private pausedUntil = 0;

  constructor(
    private readonly source: ObjectSource,
    private readonly limits: ImageLimits,
    private readonly log: Logger,
    options: Partial<SourceThumbnailOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Each key's side x side thumbnail; undefined where the object cannot be read or decoded within the query's budget. */
  async thumbnailsOf(keys: string[], side: number, budgetMs = this.options.budgetMs): Promise<ThumbnailBatch> {
    const deadline = Date.now() + budgetMs;
    const got = await Promise.all(keys.map((key) => this.thumbnailOf(key, side, deadline)));
    const skipped = got.filter((g) => g === OUT_OF_TIME).length;
    if (skipped) this.log.debug({ skipped, candidates: keys.length, budgetMs, queued: this.queue.length }, 'pixel check skipped for candidates whose images were not read in time (query service busy)');
    return { thumbs: got.map((g) => (g === OUT_OF_TIME ? undefined : g)), skipped };
  }

  private thumbnailOf(key: string, side: number, deadline: number): Promise<Uint8Array | undefined | typeof OUT_OF_TIME> {
    // A video's keyframe is no object of the source: its pixels are not checked.
    if (parseFrameKey(key)) return Promise.resolve(undefined);
    const id = `${side}:${key}`;
    const now = Date.now();
    let read = this.cache.get(id);
    this.cache.delete(id);
    if (!read || now - read.madeAt >= this.options.maxAgeMs) {
      if (now < this.pausedUntil) return Promise.resolve(undefined);
      read = this.enqueue(key, side, now);
    }
    this.cache.set(id, read); // most recently used last
    if (this.cache.size > this.options.capacity) this.cache.delete(this.cache.keys().next().value!);
    read.wantedUntil = Math.max(read.wantedUntil, deadline);
    return this.until(read.thumb, deadline);
  }

  private enqueue(key: string, side: number, now: number): ThumbnailRead {
    let settle!: ThumbnailRead['settle'];
    const thumb: ThumbnailRead['thumb'] = new Promise((resolve) => (settle = resolve));
    const read: ThumbnailRead = { key, side, thumb, settle, wantedUntil: now, madeAt: now };
    this.queue.push(read);
    queueMicrotask(() => this.pump());
    return read;
  }

  /** Starts queued reads while slots are free; a read whose queries all gave up is dropped unread. */
  private pump(): void {
    while (this.running < this.options.concurrency && this.queue.length) {
      const read = this.queue.shift()!;
      if (read.wantedUntil <= Date.now()) {
        this.forget(read);
        read.settle(OUT_OF_TIME);
        continue;
      }
      this.running++;
      this.make(read)
        .then(read.settle, (err: unknown) => {
          // Not cached: a missing object or a failed read is tried again by the next query.
          this.forget(read);
          // A deleted object stays a candidate until ingest removes it: not worth a warning per query.
          const level = err instanceof ObjectGoneError ? 'debug' : 'warn';
          this.log[level]({ key: read.key, err: String(err).slice(0, 200) }, 'candidate image not readable from the source; its pixels are not checked');
          read.settle(undefined);
        })
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  private async make(read: ThumbnailRead): Promise<Uint8Array> {
    let bytes: Buffer;
    try {
      bytes = await withTimeout(this.source.get(read.key, { maxBytes: this.limits.maxBytes }), this.options.readTimeoutMs, () => new SourceReadTimeoutError(read.key, this.options.readTimeoutMs));
    } catch (e) {
      this.countReadFailure(e);
      throw e;
    }
    this.failuresInARow = 0;
    // Decoding is this service's work: its failures (a bad image) never count against the source.
    return sourceThumbnail(bytes, this.limits, read.side);
  }

  /** A failure of the source itself counts towards pausing it; one object's (gone, too large) shows the source answers. */
  private countReadFailure(err: unknown): void {
    if (err instanceof ObjectGoneError || err instanceof ImageRejectedError) {
      this.failuresInARow = 0;
      return;
    }
    if (++this.failuresInARow < this.options.pauseAfter || Date.now() < this.pausedUntil) return;
    this.pausedUntil = Date.now() + this.options.pauseMs;
    this.log.warn({ failures: this.failuresInARow, pauseMs: this.options.pauseMs, err: String(err).slice(0, 200) }, 'source not readable: pixel checks paused');
  }

  private forget(read: ThumbnailRead): void {
    const id = `${read.side}:${read.key}`;
    if (this.cache.get(id) === read) this.cache.delete(id);
  }

  /** The thumbnail, or OUT_OF_TIME if it is not there by the deadline (the read goes on and is cached for the next query). */
  private until(thumb: ThumbnailRead['thumb'], deadline: number): Promise<Uint8Array | undefined | typeof OUT_OF_TIME> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<typeof OUT_OF_TIME>((resolve) => (timer = setTimeout(() => resolve(OUT_OF_TIME), Math.max(0, deadline - Date.now()))));
    return Promise.race([thumb, late]).finally(() => clearTimeout(timer));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(error()), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
