import { ImageRejectedError, ObjectGoneError, sourceThumbnail, type ImageLimits, type Logger, type ObjectSource } from '@loupe/shared';

export interface SourceThumbnailOptions {
  /** Thumbnails kept (4 kB each at 64 px). */
  capacity: number;
  /** A cached thumbnail is made again after this long: an object replaced under its key is re-read. */
  maxAgeMs: number;
  /** A candidate whose image takes longer is left unchecked (keeps its rank). */
  timeoutMs: number;
  /**
   * After this many reads in a row fail (timeouts, denied access: not a deleted object or a bad
   * image), the source is left alone for pauseMs: queries then skip the pixel check at once
   * instead of each waiting for the source.
   */
  pauseAfter: number;
  pauseMs: number;
}

const DEFAULTS: SourceThumbnailOptions = { capacity: 4096, maxAgeMs: 5 * 60_000, timeoutMs: 2000, pauseAfter: 5, pauseMs: 30_000 };

interface CachedThumbnail {
  thumb: Promise<Uint8Array | undefined>;
  madeAt: number;
}

/**
 * Thumbnails of indexed images made from the bucket, for the pixel check of a crop query's top
 * candidates when the index keeps none: the index stays at its searched codes, and the check reads
 * the ~10 candidates' originals instead (sourceThumbnail: the same bytes a pixel level would hold).
 * Recently made thumbnails are cached, as the same popular images come back as candidates.
 */
export class SourceThumbnailService {
  private readonly cache = new Map<string, CachedThumbnail>();
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

  /** Each key's side x side thumbnail; undefined where the object cannot be read or decoded in time. */
  thumbnailsOf(keys: string[], side: number): Promise<(Uint8Array | undefined)[]> {
    return Promise.all(keys.map((key) => this.thumbnailOf(key, side)));
  }

  private thumbnailOf(key: string, side: number): Promise<Uint8Array | undefined> {
    const id = `${side}:${key}`;
    const now = Date.now();
    const cached = this.cache.get(id);
    this.cache.delete(id);
    if (cached && now - cached.madeAt < this.options.maxAgeMs) {
      this.cache.set(id, cached); // most recently used last
      return cached.thumb;
    }
    if (now < this.pausedUntil) return Promise.resolve(undefined);
    const thumb = this.make(key, side).catch((err: unknown) => {
      this.countFailure(err);
      // Not cached: a missing object or a slow read is tried again by the next query.
      if (this.cache.get(id)?.thumb === thumb) this.cache.delete(id);
      // A deleted object stays a candidate until ingest removes it: not worth a warning per query.
      const level = err instanceof ObjectGoneError ? 'debug' : 'warn';
      this.log[level]({ key, err: String(err).slice(0, 200) }, 'candidate image not readable from the source; its pixels are not checked');
      return undefined;
    });
    this.cache.set(id, { thumb, madeAt: now });
    if (this.cache.size > this.options.capacity) this.cache.delete(this.cache.keys().next().value!);
    return thumb;
  }

  /** A failure of the source itself counts towards pausing it; one object's (gone, not an image) shows the source answers. */
  private countFailure(err: unknown): void {
    if (err instanceof ObjectGoneError || err instanceof ImageRejectedError) {
      this.failuresInARow = 0;
      return;
    }
    if (++this.failuresInARow < this.options.pauseAfter || Date.now() < this.pausedUntil) return;
    this.pausedUntil = Date.now() + this.options.pauseMs;
    this.log.warn({ failures: this.failuresInARow, pauseMs: this.options.pauseMs, err: String(err).slice(0, 200) }, 'source not readable: pixel checks paused');
  }

  private async make(key: string, side: number): Promise<Uint8Array> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no thumbnail within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    });
    try {
      const bytes = await Promise.race([this.source.get(key, { maxBytes: this.limits.maxBytes }), timeout]);
      this.failuresInARow = 0;
      return await Promise.race([sourceThumbnail(bytes, this.limits, side), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
