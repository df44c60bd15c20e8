import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Queue } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createQueue,
  createRedis,
  DEFAULT_MODEL,
  DeadJobSchema,
  DeadLetterRepository,
  IndexJobSchema,
  loadConfig,
  indexJobId,
  objectJobId,
  planViews,
  DEFAULT_VIEW_PLAN,
  QueueNames,
  readIndexLayout,
  REPO_ROOT,
  toCanonical,
  type DeadJob,
  type EncodeJob,
  type IndexJob,
  type LoupeConfig,
} from '@loupe/shared';
import { startEncoder } from '@loupe/encoder';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { waitFor } from './support/capture-logger.ts';

const PHOTOS = path.join(REPO_ROOT, 'test/fixtures/photos');

/** An encode job as ingest makes it: oriented, flattened, canonical raster + the plan's views. */
async function encodeJob(file: string, key: string, etag = 'e1'): Promise<EncodeJob> {
  const bytes = readFileSync(path.join(PHOTOS, file));
  const { width, height } = await sharp(bytes).metadata();
  const image = (await toCanonical(sharp(bytes).rotate().flatten({ background: '#ffffff' }))).toString('base64');
  return { key, etag, width: width!, height: height!, image, views: planViews(DEFAULT_VIEW_PLAN, width!, height!) };
}

describe('encoder service (real Redis, real CNN)', () => {
  let redis: TestRedis;
  let config: LoupeConfig;
  let encoder: { close(): Promise<void> };
  let encodeQueue: Queue;
  let indexQueue: Queue<IndexJob>;
  let deadQueue: Queue<DeadJob>;

  const indexJob = (key: string, etag = 'e1') =>
    waitFor(async () => (await indexQueue.getJob(indexJobId(key, etag, 'builtin:mobilenetv2-rp64')))?.data, 60_000);
  const deadFor = (key: string) =>
    waitFor(async () => (await deadQueue.getJobs(['waiting'])).map((j) => j.data).find((d) => d.key === key), 60_000);

  beforeAll(async () => {
    redis = await startRedis();
    config = loadConfig({ REDIS_URL: redis.url, LOUPE_LOG_LEVEL: 'silent', LOUPE_SHARDS: '2', LOUPE_ENCODE_BATCH: '4', LOUPE_MODEL: 'builtin:mobilenetv2-rp64' });
    encoder = await startEncoder(config);
    encodeQueue = createQueue(QueueNames.encode, config);
    indexQueue = createQueue<IndexJob>(QueueNames.index, config);
    deadQueue = createQueue<DeadJob>(QueueNames.dead, config);
  });

  afterAll(async () => {
    await encoder?.close();
    for (const q of [encodeQueue, indexQueue, deadQueue]) {
      await q?.close();
      (await q?.client)?.disconnect();
    }
    await redis?.stop();
  });

  it('creates the index layout from the model, recording what loads it', async () => {
    const probe = createRedis(config);
    try {
      expect(await readIndexLayout(probe)).toEqual({ shards: 2, bits: 64, plan: DEFAULT_VIEW_PLAN, model: 'builtin:mobilenetv2-rp64', namespace: 'loupe', modelRef: 'builtin:mobilenetv2-rp64' });
    } finally {
      probe.disconnect();
    }
  });

  it('turns an encode job for a real photo into an index job with 14 hex codes', async () => {
    const job = await encodeJob('horse.jpg', 'photos/horse.jpg');
    await encodeQueue.add('upsert', job, { jobId: objectJobId('encode', job.key, job.etag) });
    const out = IndexJobSchema.parse(await indexJob(job.key));
    if (out.op !== 'upsert') throw new Error('expected an upsert');
    expect(out).toMatchObject({ key: job.key, etag: 'e1', width: job.width, height: job.height, model: 'builtin:mobilenetv2-rp64', bits: 64 });
    expect(out.views).toHaveLength(14);
    expect(out.views.map(({ level, index, box }) => ({ level, index, box }))).toEqual(job.views);
    expect(out.views.every((v) => /^[0-9a-f]{16}$/.test(v.code))).toBe(true);
  });

  it('dead-letters a garbage raster and an invalid payload, and keeps encoding batches after them', async () => {
    const good = await Promise.all(['messi.jpg', 'board.jpg', 'retina.jpg'].map((f) => encodeJob(f, `photos/${f}`)));
    const garbage: EncodeJob = { ...good[0], key: 'photos/garbage.jpg', image: Buffer.from('definitely not a jpeg '.repeat(50)).toString('base64') };
    const invalid = { key: 'photos/invalid.jpg', etag: 'e1', width: -3, views: [] };
    await encodeQueue.addBulk(
      [garbage, invalid, ...good].map((data) => ({ name: 'upsert', data, opts: { jobId: objectJobId('encode', String(data.key), 'e1') } })),
    );

    const badRaster = DeadJobSchema.parse(await deadFor('photos/garbage.jpg'));
    expect(badRaster).toMatchObject({ stage: 'encode', key: 'photos/garbage.jpg', etag: 'e1' });
    expect(badRaster.reason).toMatch(/bad canonical raster/);
    const badPayload = DeadJobSchema.parse(await deadFor('photos/invalid.jpg'));
    expect(badPayload.stage).toBe('encode');
    expect(badPayload.reason).toMatch(/invalid loupe-encode job: .*width/);
    // Both are failed now (what /v1/stats counts and loupe dead lists), not only in the history.
    const failedNow = createRedis(config);
    try {
      const listed = await new DeadLetterRepository(failedNow).list(10);
      expect(listed.deadLetters.map((d) => [d.key, d.stage, d.reason]).sort()).toEqual([
        ['photos/garbage.jpg', 'encode', badRaster.reason],
        ['photos/invalid.jpg', 'encode', badPayload.reason],
      ]);
    } finally {
      failedNow.disconnect();
    }

    for (const g of good) {
      const out = IndexJobSchema.parse(await indexJob(g.key));
      expect(out.op === 'upsert' && out.views.length).toBe(14);
    }
    expect(await indexQueue.getJob(indexJobId('photos/garbage.jpg', 'e1', 'builtin:mobilenetv2-rp64'))).toBeUndefined();
    // Dead jobs end failed without retries (UnrecoverableError), good ones completed.
    const failed = await encodeQueue.getJob(objectJobId('encode', 'photos/garbage.jpg', 'e1'));
    expect(await failed?.getState()).toBe('failed');
    expect(failed?.attemptsMade).toBe(1);
  });

  it('keeps the index\'s model when started with the default model of another view plan; refuses a chosen one', async () => {
    // No LOUPE_MODEL: the default (scale-paired regions), while the index was made with rp64's pyramid.
    const defaulted = loadConfig({ REDIS_URL: redis.url, LOUPE_LOG_LEVEL: 'silent', LOUPE_SHARDS: '2' });
    expect(defaulted.LOUPE_MODEL).toBe(DEFAULT_MODEL);
    const second = await startEncoder(defaulted);
    await second.close();
    const probe = createRedis(config);
    try {
      expect(await readIndexLayout(probe)).toMatchObject({ plan: DEFAULT_VIEW_PLAN, model: 'builtin:mobilenetv2-rp64', modelRef: 'builtin:mobilenetv2-rp64' });
    } finally {
      probe.disconnect();
    }
    const chosen = loadConfig({ REDIS_URL: redis.url, LOUPE_LOG_LEVEL: 'silent', LOUPE_SHARDS: '2', LOUPE_MODEL: 'builtin:mobilenetv2-rp64-p448' });
    await expect(startEncoder(chosen)).rejects.toThrow(/view plan other than the model's \(index model builtin:mobilenetv2-rp64, LOUPE_MODEL builtin:mobilenetv2-rp64-p448\)/);
  });
});
