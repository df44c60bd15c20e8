import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileObjectSource, type GetOptions } from '@loupe/shared';
import { ThumbnailService, ThumbnailUnavailableError } from './thumbnail.service.ts';

const LIMITS = { maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000 };

/** A folder source that counts its reads. */
class CountingSource extends FileObjectSource {
  reads: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  override async get(key: string, opts?: GetOptions): Promise<Buffer> {
    this.reads.push(key);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 5));
      return await super.get(key, opts);
    } finally {
      this.inFlight--;
    }
  }
}

describe('ThumbnailService (a real folder of images)', () => {
  let dir: string;
  let source: CountingSource;
  const indexed = new Set(['wide.jpg', 'turned.jpg', 'a.png', 'b.png', 'c.png', 'broken.jpg', 'gone.jpg']);
  const isIndexed = async (key: string) => indexed.has(key);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-thumbs-'));
    const noise = (w: number, h: number) => sharp(Buffer.from(Array.from({ length: w * h * 3 }, (_, i) => (i * 7919) % 251)), { raw: { width: w, height: h, channels: 3 } });
    writeFileSync(path.join(dir, 'wide.jpg'), await noise(600, 300).jpeg().toBuffer());
    // Stored 300x200 with EXIF orientation 6: shown (and indexed) as 200x300.
    writeFileSync(path.join(dir, 'turned.jpg'), await noise(300, 200).jpeg().withMetadata({ orientation: 6 }).toBuffer());
    for (const k of ['a', 'b', 'c']) writeFileSync(path.join(dir, `${k}.png`), await noise(200, 200).png().toBuffer());
    writeFileSync(path.join(dir, 'broken.jpg'), 'not an image');
    writeFileSync(path.join(dir, 'outside.jpg'), await noise(50, 50).jpeg().toBuffer());
    source = new CountingSource(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bounds the longer side, never enlarges, and gives the oriented size that boxes are in', async () => {
    const service = new ThumbnailService(source, isIndexed, LIMITS);
    const wide = (await service.thumbnail('wide.jpg', 128, 'jpeg'))!;
    expect([wide.width, wide.height, wide.format]).toEqual([600, 300, 'jpeg']);
    expect(await sharp(wide.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 128, height: 64 });
    const turned = (await service.thumbnail('turned.jpg', 512, 'webp'))!;
    expect([turned.width, turned.height]).toEqual([200, 300]);
    expect(await sharp(turned.bytes).metadata()).toMatchObject({ format: 'webp', width: 200, height: 300 });
  });

  it('serves only indexed keys: anything else is null without reading the source', async () => {
    const service = new ThumbnailService(source, isIndexed, LIMITS);
    source.reads = [];
    expect(await service.thumbnail('outside.jpg', 64, 'jpeg')).toBeNull();
    expect(source.reads).toEqual([]);
    expect(await service.thumbnail('gone.jpg', 64, 'jpeg')).toBeNull(); // indexed, no longer in the folder
    await expect(service.thumbnail('broken.jpg', 64, 'jpeg')).rejects.toThrow(ThumbnailUnavailableError);
    await expect(service.thumbnail('broken.jpg', 64, 'jpeg')).rejects.toThrow(ThumbnailUnavailableError);
    expect(source.reads).toEqual(['gone.jpg', 'broken.jpg', 'broken.jpg']); // failures are not cached
    expect(service.usage).toEqual({ entries: 0, bytes: 0 });
  });

  it('reads a key once for concurrent and later requests of one size and format', async () => {
    const service = new ThumbnailService(source, isIndexed, LIMITS);
    source.reads = [];
    const [x, y] = await Promise.all([service.thumbnail('a.png', 64, 'jpeg'), service.thumbnail('a.png', 64, 'jpeg')]);
    expect(x).toBe(y);
    expect(await service.thumbnail('a.png', 64, 'jpeg')).toBe(x);
    await service.thumbnail('a.png', 32, 'jpeg'); // another size: another thumbnail
    await service.thumbnail('a.png', 64, 'webp'); // another format too
    expect(source.reads).toEqual(['a.png', 'a.png', 'a.png']);
    expect(service.usage.entries).toBe(3);
  });

  it('keeps the cache within its bytes, the least recently used out first', async () => {
    const one = (await new ThumbnailService(source, isIndexed, LIMITS).thumbnail('a.png', 64, 'jpeg'))!.bytes.length;
    const service = new ThumbnailService(source, isIndexed, LIMITS, { cacheBytes: Math.floor(2.5 * one) });
    source.reads = [];
    for (const key of ['a.png', 'b.png', 'a.png', 'c.png']) await service.thumbnail(key, 64, 'jpeg');
    expect(service.usage).toEqual({ entries: 2, bytes: 2 * one });
    // b.png went (a.png was used after it); a.png and c.png stay.
    for (const key of ['a.png', 'c.png', 'b.png']) await service.thumbnail(key, 64, 'jpeg');
    expect(source.reads).toEqual(['a.png', 'b.png', 'c.png', 'b.png']);
  });

  it('makes at most `concurrency` thumbnails at once; the others wait their turn', async () => {
    const service = new ThumbnailService(source, isIndexed, LIMITS, { concurrency: 2 });
    source.maxInFlight = 0;
    const keys = ['a.png', 'b.png', 'c.png', 'wide.jpg', 'turned.jpg'];
    const thumbs = await Promise.all(keys.map((key) => service.thumbnail(key, 48, 'jpeg')));
    expect(thumbs.every((t) => t && t.bytes.length > 0)).toBe(true);
    expect(source.maxInFlight).toBe(2);
  });

  it('makes a thumbnail again once it is older than maxAgeMs (an object replaced under its key)', async () => {
    const service = new ThumbnailService(source, isIndexed, LIMITS, { maxAgeMs: 0 });
    source.reads = [];
    await service.thumbnail('wide.jpg', 64, 'jpeg');
    await service.thumbnail('wide.jpg', 64, 'jpeg');
    expect(source.reads).toEqual(['wide.jpg', 'wide.jpg']);
    expect(service.usage.entries).toBe(1);
  });
});
