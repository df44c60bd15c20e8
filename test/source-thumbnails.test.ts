import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
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
    expect(await service().thumbnailsOf(names, SOURCE_THUMBNAIL_SIDE)).toEqual(stored);
  }, 120_000);

  it('reads each image once while cached, again once its thumbnail is older than maxAgeMs', async () => {
    const cached = service();
    const before = source.reads;
    const [a] = await cached.thumbnailsOf(['astronaut.jpg'], 32);
    const [b] = await cached.thumbnailsOf(['astronaut.jpg'], 32);
    expect(b).toBe(a);
    expect(source.reads - before).toBe(1);
    // Replaced under its key: a service whose thumbnails age at once sees the new image.
    const aging = service({ maxAgeMs: 0 });
    const [old] = await aging.thumbnailsOf(['astronaut.jpg'], 32);
    copyFileSync(path.join(SAMPLES, 'coffee.jpg'), path.join(dir, 'astronaut.jpg'));
    const [replaced] = await aging.thumbnailsOf(['astronaut.jpg'], 32);
    expect(replaced).not.toEqual(old);
    expect(replaced).toEqual((await cached.thumbnailsOf(['coffee.jpg'], 32))[0]);
    copyFileSync(path.join(SAMPLES, 'astronaut.jpg'), path.join(dir, 'astronaut.jpg'));
  });

  it('gives undefined for an object that is gone or not an image, without caching the miss', async () => {
    const thumbs = service();
    renameSync(path.join(dir, 'rocket.jpg'), path.join(dir, 'rocket.away'));
    const [gone, present] = await thumbs.thumbnailsOf(['rocket.jpg', 'coffee.jpg'], 32);
    expect(gone).toBeUndefined();
    expect(present).toHaveLength(32 * 32);
    renameSync(path.join(dir, 'rocket.away'), path.join(dir, 'rocket.jpg'));
    expect((await thumbs.thumbnailsOf(['rocket.jpg'], 32))[0]).toHaveLength(32 * 32);
    copyFileSync(path.join(REPO_ROOT, 'samples/LICENSE.md'), path.join(dir, 'notes.jpg'));
    expect(await thumbs.thumbnailsOf(['notes.jpg'], 32)).toEqual([undefined]);
  });

  it('gives up on a candidate whose image is not read within timeoutMs, and pauses a source that keeps failing', async () => {
    let reads = 0;
    const stalled = {
      get: () => {
        reads++;
        return new Promise<Buffer>(() => undefined);
      },
    } as unknown as ObjectSource;
    const thumbs = new SourceThumbnailService(stalled, LIMITS, log, { timeoutMs: 50, pauseAfter: 3, pauseMs: 300 });
    const started = Date.now();
    expect(await thumbs.thumbnailsOf(['a.jpg', 'b.jpg', 'c.jpg'], 32)).toEqual([undefined, undefined, undefined]);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(reads).toBe(3);
    // Paused: the next query's candidates are not read at all (nothing to wait for).
    expect(await thumbs.thumbnailsOf(['d.jpg', 'e.jpg'], 32)).toEqual([undefined, undefined]);
    expect(reads).toBe(3);
    // After the pause the source is tried again.
    await new Promise((r) => setTimeout(r, 350));
    await thumbs.thumbnailsOf(['f.jpg'], 32);
    expect(reads).toBe(4);
  });

  it('does not pause for objects that are gone or not images (the source itself answers)', async () => {
    const thumbs = new SourceThumbnailService(source as unknown as ObjectSource, LIMITS, log, { pauseAfter: 2, pauseMs: 60_000 });
    copyFileSync(path.join(REPO_ROOT, 'samples/LICENSE.md'), path.join(dir, 'notes2.jpg'));
    expect(await thumbs.thumbnailsOf(['missing-1.jpg', 'missing-2.jpg', 'notes2.jpg'], 32)).toEqual([undefined, undefined, undefined]);
    expect((await thumbs.thumbnailsOf(['coffee.jpg'], 32))[0]).toHaveLength(32 * 32);
  });
});
