import { copyFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  FileObjectSource,
  initRuntime,
  loadHashModel,
  pixelLevelOf,
  prepareImage,
  REPO_ROOT,
  SOURCE_THUMBNAIL_SIDE,
  type GetOptions,
  type ObjectSource,
} from '@loupe/shared';
import { SourceThumbnailService } from '../services/query/src/source-thumbnail.service.ts';
import { captureLogger, waitFor } from './support/capture-logger.ts';

const SAMPLES = path.join(REPO_ROOT, 'samples');
const LIMITS = { maxBytes: 50 << 20, maxPixels: 100_000_000 };
const log = createLogger('test', 'silent');

/** The folder source, counting reads, so a test can tell a cached thumbnail from a new one. */
class CountingSource {
  reads = 0;
  constructor(readonly inner: ObjectSource) {}
  get(key: string, opts?: GetOptions): Promise<Buffer> {
    this.reads++;
    return this.inner.get(key, opts);
  }
}

describe('SourceThumbnailService (thumbnails of candidates made from the bucket\'s images)', () => {
  let dir: string;
  let source: CountingSource;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-thumbs-'));
    for (const f of ['coffee.jpg', 'rocket.jpg', 'astronaut.jpg']) copyFileSync(path.join(SAMPLES, f), path.join(dir, f));
    source = new CountingSource(new FileObjectSource(dir));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const service = (options = {}) => new SourceThumbnailService(source as unknown as ObjectSource, LIMITS, log, options);
  /** The thumbnails alone (ThumbnailBatch.thumbs). */
  const thumbsOf = async (s: SourceThumbnailService, keys: string[], side: number) => (await s.thumbnailsOf(keys, side)).thumbs;

  it('makes the bytes an index with a pixel level stores for the same image (so loupe eval measures the query service)', async () => {
    await initRuntime(undefined, log);
    // builtin:mobilenetv2-copy256-p448c5-cells64-px64-dct (an earlier default) keeps the 64x64 thumbnail in the index; the encoder codes it from the canonical JPEG ingest sends.
    const model = await loadHashModel('builtin:mobilenetv2-copy256-p448c5-cells64-px64-dct', { logger: log });
    const level = pixelLevelOf(model.plan);
    const names = ['coffee.jpg', 'rocket.jpg'];
    const stored = await Promise.all(
      names.map(async (name) => {
        const img = await prepareImage(readFileSync(path.join(SAMPLES, name)), LIMITS, model.plan);
        const [codes] = await model.encode([{ image: img.canonical.toString('base64'), width: img.width, height: img.height, views: img.views }]);
        return codes.find((c) => c.level === level)!.code;
      }),
    );
    expect(stored[0]).toHaveLength(SOURCE_THUMBNAIL_SIDE ** 2);
    expect(await thumbsOf(service(), names, SOURCE_THUMBNAIL_SIDE)).toEqual(stored);
  }, 120_000);

  it('reads each image once while cached, again once its thumbnail is older than maxAgeMs', async () => {
    const cached = service();
    const before = source.reads;
    const [a] = await thumbsOf(cached, ['astronaut.jpg'], 32);
    const [b] = await thumbsOf(cached, ['astronaut.jpg'], 32);
    expect(b).toBe(a);
    expect(source.reads - before).toBe(1);
    // Replaced under its key: a service whose thumbnails age at once sees the new image.
    const aging = service({ maxAgeMs: 0 });
    const [old] = await thumbsOf(aging, ['astronaut.jpg'], 32);
    copyFileSync(path.join(SAMPLES, 'coffee.jpg'), path.join(dir, 'astronaut.jpg'));
    const [replaced] = await thumbsOf(aging, ['astronaut.jpg'], 32);
    expect(replaced).not.toEqual(old);
    expect(replaced).toEqual((await thumbsOf(cached, ['coffee.jpg'], 32))[0]);
    copyFileSync(path.join(SAMPLES, 'astronaut.jpg'), path.join(dir, 'astronaut.jpg'));
  });

  it('gives undefined for an object that is gone or not an image, without caching the miss', async () => {
    const thumbs = service();
    renameSync(path.join(dir, 'rocket.jpg'), path.join(dir, 'rocket.away'));
    const [gone, present] = await thumbsOf(thumbs, ['rocket.jpg', 'coffee.jpg'], 32);
    expect(gone).toBeUndefined();
    expect(present).toHaveLength(32 * 32);
    renameSync(path.join(dir, 'rocket.away'), path.join(dir, 'rocket.jpg'));
    expect((await thumbsOf(thumbs, ['rocket.jpg'], 32))[0]).toHaveLength(32 * 32);
    copyFileSync(path.join(REPO_ROOT, 'samples/LICENSE.md'), path.join(dir, 'notes.jpg'));
    expect(await thumbsOf(thumbs, ['notes.jpg'], 32)).toEqual([undefined]);
  });

  it('gives up on a read the source does not answer within readTimeoutMs, and pauses a source that keeps failing', async () => {
    let reads = 0;
    const stalled = {
      get: () => {
        reads++;
        return new Promise<Buffer>(() => undefined);
      },
    } as unknown as ObjectSource;
    const thumbs = new SourceThumbnailService(stalled, LIMITS, log, { readTimeoutMs: 50, pauseAfter: 3, pauseMs: 300 });
    const started = Date.now();
    expect(await thumbsOf(thumbs, ['a.jpg', 'b.jpg', 'c.jpg'], 32)).toEqual([undefined, undefined, undefined]);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(reads).toBe(3);
    // Paused: the next query's candidates are not read at all (nothing to wait for).
    expect(await thumbsOf(thumbs, ['d.jpg', 'e.jpg'], 32)).toEqual([undefined, undefined]);
    expect(reads).toBe(3);
    // After the pause the source is tried again.
    await new Promise((r) => setTimeout(r, 350));
    await thumbsOf(thumbs, ['f.jpg'], 32);
    expect(reads).toBe(4);
  });

  it('does not pause for objects that are gone or not images (the source itself answers)', async () => {
    const thumbs = new SourceThumbnailService(source as unknown as ObjectSource, LIMITS, log, { pauseAfter: 2, pauseMs: 60_000 });
    copyFileSync(path.join(REPO_ROOT, 'samples/LICENSE.md'), path.join(dir, 'notes2.jpg'));
    expect(await thumbsOf(thumbs, ['missing-1.jpg', 'missing-2.jpg', 'notes2.jpg'], 32)).toEqual([undefined, undefined, undefined]);
    expect((await thumbsOf(thumbs, ['coffee.jpg'], 32))[0]).toHaveLength(32 * 32);
  });

  it('under 8 concurrent queries skips what its own read queue cannot serve in time, without ever pausing a readable folder', async () => {
    // 8 queries of 10 distinct candidates each (copies of the samples) through 2 read slots with
    // a 40 ms budget: most candidates are still queued when their query stops waiting.
    const many = mkdtempSync(path.join(os.tmpdir(), 'loupe-thumbs-busy-'));
    const samples = readdirSync(SAMPLES).filter((f) => f.endsWith('.jpg'));
    const keys = Array.from({ length: 80 }, (_, i) => `${i}-${samples[i % samples.length]}`);
    for (const [i, key] of keys.entries()) copyFileSync(path.join(SAMPLES, samples[i % samples.length]), path.join(many, key));
    try {
      const folder = new CountingSource(new FileObjectSource(many));
      const logs = captureLogger('debug');
      const busy = new SourceThumbnailService(folder as unknown as ObjectSource, LIMITS, logs.logger, { concurrency: 2, budgetMs: 40, pauseAfter: 1, pauseMs: 60_000 });
      const batches = await Promise.all(Array.from({ length: 8 }, (_, q) => busy.thumbnailsOf(keys.slice(q * 10, q * 10 + 10), 32)));
      const skipped = batches.reduce((n, b) => n + b.skipped, 0);
      expect(skipped).toBeGreaterThan(0);
      // Every image is readable: a candidate without a thumbnail is exactly one the budget skipped.
      for (const b of batches) expect(b.thumbs.filter((t) => t === undefined)).toHaveLength(b.skipped);
      // Reads nobody waited for any more were dropped from the queue, never begun.
      await waitFor(() => logs.lines.some((l) => String(l.msg).startsWith('pixel check skipped')));
      await new Promise((r) => setTimeout(r, 300));
      expect(folder.reads).toBeLessThan(80);
      // Not paused (pauseAfter 1 would pause at the first counted failure): a query with time
      // to spare gets every one of its candidates, read now.
      const never = keys.filter((_, i) => batches[Math.floor(i / 10)].thumbs[i % 10] === undefined).slice(0, 10);
      const relaxed = await busy.thumbnailsOf(never, 32, 30_000);
      expect(relaxed.skipped).toBe(0);
      expect(relaxed.thumbs.every((t) => t?.length === 32 * 32)).toBe(true);
      expect(logs.lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    } finally {
      rmSync(many, { recursive: true, force: true });
    }
  });
});
