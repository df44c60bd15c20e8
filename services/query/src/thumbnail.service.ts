import sharp from 'sharp';
import { ObjectGoneError, parseFrameKey, VideoRejectedError, type ImageLimits, type KeyframeExtractor, type ObjectSource } from '@loupe/shared';

export type ThumbnailFormat = 'webp' | 'jpeg';

export interface Thumbnail {
  bytes: Buffer;
  format: ThumbnailFormat;
  /** The indexed image's size (after EXIF orientation): hits' boxes are in these pixels. */
  width: number;
  height: number;
}

export interface ThumbnailOptions {
  /** Bytes of thumbnails kept in memory (least recently used out first). */
  cacheBytes: number;
  /** A cached thumbnail is made again after this long: an object replaced under its key is re-read. */
  maxAgeMs: number;
  /**
   * Thumbnails made at once; the others wait. Decoding runs on libuv's threads, which image queries
   * decode on too: a page asking for a dozen thumbnails must not hold them all.
   */
  concurrency: number;
  /** Cuts a video's keyframe (`<video>#t=<seconds>` keys) out of the video, at most maxBytes; without it they have no thumbnail. */
  video?: { extractor: KeyframeExtractor; maxBytes: number };
}

/** The object could not be read or decoded from the source (an outage, or an image the source now holds broken). */
export class ThumbnailUnavailableError extends Error {
  constructor(key: string, cause: unknown) {
    super(`${key}: not readable from the source: ${String(cause).slice(0, 200)}`);
    this.name = 'ThumbnailUnavailableError';
  }
}

interface Entry {
  thumb: Promise<Thumbnail | null>;
  madeAt: number;
  bytes: number;
}

const DEFAULTS: ThumbnailOptions = { cacheBytes: 32 * 1024 * 1024, maxAgeMs: 5 * 60_000, concurrency: 2 };

/**
 * Colour thumbnails of indexed images for the web page, read from the source and bounded to
 * `size` px on their longer side. Only indexed keys are served (the bucket may hold more than the
 * prefix, and a deleted object should not come back); the same key and size asked while one is
 * being made share it.
 */
export class ThumbnailService {
  private readonly cache = new Map<string, Entry>();
  private cachedBytes = 0;
  private readonly options: ThumbnailOptions;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly source: ObjectSource,
    private readonly isIndexed: (key: string) => Promise<boolean>,
    private readonly limits: ImageLimits,
    options: Partial<ThumbnailOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** null when the key is not indexed or the source no longer has it. */
  async thumbnail(key: string, size: number, format: ThumbnailFormat): Promise<Thumbnail | null> {
    if (!(await this.isIndexed(key))) return null;
    const id = `${format}:${size}:${key}`;
    let entry = this.cache.get(id);
    if (entry && Date.now() - entry.madeAt >= this.options.maxAgeMs) {
      this.drop(id, entry);
      entry = undefined;
    }
    if (entry) this.cache.delete(id); // set again below: most recently used last
    entry ??= this.make(id, key, size, format);
    this.cache.set(id, entry);
    return entry.thumb;
  }

  get usage(): { entries: number; bytes: number } {
    return { entries: this.cache.size, bytes: this.cachedBytes };
  }

  private make(id: string, key: string, size: number, format: ThumbnailFormat): Entry {
    const entry: Entry = { thumb: this.render(key, size, format), madeAt: Date.now(), bytes: 0 };
    entry.thumb.then(
      (thumb) => {
        if (this.cache.get(id) !== entry) return;
        // Nothing to keep for a gone object: the next request asks the source again.
        if (!thumb) return this.drop(id, entry);
        entry.bytes = thumb.bytes.length;
        this.cachedBytes += entry.bytes;
        this.evict();
      },
      () => this.cache.get(id) === entry && this.drop(id, entry),
    );
    return entry;
  }

  private async render(key: string, size: number, format: ThumbnailFormat): Promise<Thumbnail | null> {
    if (this.running < this.options.concurrency) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // a finishing one hands its slot over
    try {
      return await this.read(key, size, format);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private async read(key: string, size: number, format: ThumbnailFormat): Promise<Thumbnail | null> {
    let original: Buffer;
    // A video's keyframe: the source holds the video, ffmpeg cuts the frame out of it.
    const frame = parseFrameKey(key);
    const { video } = this.options;
    try {
      if (frame && !video) throw new VideoRejectedError('video-unsupported', 'no ffmpeg');
      original = await this.source.get(frame?.key ?? key, { maxBytes: frame ? video!.maxBytes : this.limits.maxBytes });
      if (frame) original = await video!.extractor.frameAt(original, frame.t);
    } catch (e) {
      if (e instanceof ObjectGoneError) return null;
      throw new ThumbnailUnavailableError(key, e instanceof VideoRejectedError ? e.describe() : e);
    }
    try {
      // As prepareImage decodes: first frame, EXIF orientation applied (the boxes are in those pixels).
      const decoder = () => sharp(original, { failOn: 'error', limitInputPixels: this.limits.maxPixels, pages: 1, page: 0 });
      const meta = await decoder().metadata();
      const { width, height } = meta.autoOrient ?? { width: meta.width, height: meta.height };
      const resized = decoder()
        .rotate()
        .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
        .flatten({ background: '#ffffff' })
        .toColourspace('srgb');
      const bytes = await (format === 'webp' ? resized.webp({ quality: 80 }) : resized.jpeg({ quality: 80, mozjpeg: true })).toBuffer();
      return { bytes, format, width: width ?? 0, height: height ?? 0 };
    } catch (e) {
      throw new ThumbnailUnavailableError(key, e);
    }
  }

  private drop(id: string, entry: Entry): void {
    this.cache.delete(id);
    this.cachedBytes -= entry.bytes;
    entry.bytes = 0;
  }

  /** Least recently used first, until the cache fits its bytes (thumbnails being made weigh nothing yet). */
  private evict(): void {
    for (const [id, entry] of this.cache) {
      if (this.cachedBytes <= this.options.cacheBytes) return;
      this.drop(id, entry);
    }
  }
}
