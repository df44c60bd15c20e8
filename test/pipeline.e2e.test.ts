import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { QueueNames, REPO_ROOT } from '@loupe/shared';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { startS3, type TestS3 } from './support/s3-server.ts';
import { searchBytes, startPipeline, waitFor, type RunningPipeline } from './support/pipeline.ts';

const photoDirs = [path.join(REPO_ROOT, 'samples'), path.join(REPO_ROOT, 'test/fixtures/photos')];
const photos = photoDirs.flatMap((dir) =>
  readdirSync(dir).filter((f) => f.endsWith('.jpg')).map((f) => ({ key: `lib/${path.basename(dir)}-${f}`, file: path.join(dir, f) })),
);
const CORRUPT_KEY = 'lib/broken.jpg';

describe('the whole pipeline: S3 -> ingest -> encoder -> indexer -> query', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let pipeline: RunningPipeline;

  beforeAll(async () => {
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    s3.createBucket('photos');
    for (const p of photos) await s3.put('photos', p.key, readFileSync(p.file));
    // A truncated JPEG: the first 40% of a real photo.
    const whole = readFileSync(photos[0].file);
    await s3.put('photos', CORRUPT_KEY, whole.subarray(0, Math.floor(whole.length * 0.4)));
    await s3.put('photos', 'elsewhere/not-listed.jpg', whole);
    pipeline = await startPipeline({ ...s3.env, REDIS_URL: redis.url, LOUPE_SOURCE: 's3://photos/lib/', LOUPE_SHARDS: '4' });
    await waitFor('every photo indexed and the corrupt one dead-lettered', async () => {
      const s = await (await fetch(`${pipeline.base}/v1/stats`)).json();
      return s.indexed === photos.length && s.failed === 1 && s.pending === 0 && s;
    });
  });

  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([redis?.stop(), s3?.stop()]);
  });

  it('indexes every photo of the prefix (and nothing outside it)', async () => {
    const s = await (await fetch(`${pipeline.base}/v1/stats`)).json();
    expect(photos.length).toBeGreaterThanOrEqual(30);
    expect(s.indexed).toBe(photos.length);
    expect(s.shards).toHaveLength(4);
    expect(s.shards.filter((x: any) => x.live > 0).length).toBeGreaterThan(1);
    // The encoder and the query service say what they run the CNN on, and ingest what it cuts videos with.
    expect(s.runtime).toEqual({ query: 'onnx', encoders: { onnx: 1 }, ffmpeg: expect.stringMatching(/ \((npm|system)\)$|^none$/) });
  });

  it('finds each photo first, at distance 0, when searched by its own bytes', async () => {
    for (const p of photos) {
      const r = await searchBytes(pipeline.base, readFileSync(p.file));
      expect(r.status, p.key).toBe(200);
      expect(r.hits[0], p.key).toMatchObject({ key: p.key, distance: 0, granularity: 'global' });
      expect(new Set(r.hits.map((h: any) => h.key)).size).toBe(r.hits.length);
    }
  });

  it('finds each photo first from a resized, re-encoded JPEG copy', async () => {
    const misses: string[] = [];
    for (const p of photos) {
      const meta = await sharp(p.file).metadata();
      const copy = await sharp(p.file).resize(Math.round(meta.width! * 0.6)).jpeg({ quality: 70 }).toBuffer();
      const r = await searchBytes(pipeline.base, copy);
      if (r.hits[0]?.key !== p.key) misses.push(`${p.key} -> ${r.hits[0]?.key}`);
    }
    expect(misses).toEqual([]);
  });

  it('dead-letters the corrupt object with its reason', async () => {
    const dead = new Queue(QueueNames.dead, { connection: { url: redis.url } as any, prefix: 'bull' });
    const jobs = await dead.getJobs(['waiting', 'completed', 'delayed']);
    await dead.close();
    expect(jobs).toHaveLength(1);
    expect(jobs[0].data).toMatchObject({ stage: 'ingest', key: CORRUPT_KEY });
    expect(jobs[0].data.reason).toMatch(/corrupt|truncat|premature/i);
  });

  it('answers a search by key and rejects bad requests with 4xx', async () => {
    const key = photos[3].key;
    const byKey = await fetch(`${pipeline.base}/v1/search?k=3`, {
      method: 'POST', body: JSON.stringify({ key }), headers: { 'content-type': 'application/json' },
    });
    expect((await byKey.json()).hits[0]).toMatchObject({ key, distance: 0 });
    const notImage = await searchBytes(pipeline.base, Buffer.from('hello, not an image'));
    expect([400, 415]).toContain(notImage.status);
    const text = await fetch(`${pipeline.base}/v1/search`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    const badK = await searchBytes(pipeline.base, readFileSync(photos[0].file), '?k=0');
    expect(badK.status).toBe(400);
    const unknown = await fetch(`${pipeline.base}/v1/search`, {
      method: 'POST', body: JSON.stringify({ key: 'nope' }), headers: { 'content-type': 'application/json' },
    });
    expect(unknown.status).toBe(404);
  });
});
