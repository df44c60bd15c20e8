import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  createRedis,
  DEFAULT_VIEW_PLAN,
  DeadLetterRepository,
  ensureIndexLayout,
  indexJobId,
  IngestJobSchema,
  loadConfig,
  objectJobId,
  REPO_ROOT,
  type LoupeConfig,
  type RedisClient,
} from '@loupe/shared';
import { openDeadLetters, type DeadLettersHandle } from '@loupe/ingest';
import { SeenObjectRepository } from '../services/ingest/src/repositories/seen-object.repository.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { startS3, type TestS3, useS3Env } from './support/s3-server.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';

const BUCKET = 'photos';
const KEY = 'cam/coffee.jpg';
const MODEL = 'test-model';

/**
 * Retry of a dead letter that failed after ingest (encode or index stage): the version's earlier
 * encode and index jobs still hold their ids in BullMQ, which would drop the retry's own ones.
 */
describe('retry of an encode-stage dead letter (real Redis, S3 emulator)', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let config: LoupeConfig;
  let client: RedisClient;
  let queues: TestQueues;
  let deadLetters: DeadLettersHandle;
  let failed: DeadLetterRepository;
  let etag: string;
  let restoreEnv: () => void = () => undefined;

  beforeAll(async () => {
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    // The SDK reads credentials from the environment, as in production.
    restoreEnv = useS3Env(s3);
    s3.createBucket(BUCKET);
    await s3.put(BUCKET, KEY, readFileSync(path.join(REPO_ROOT, 'samples/coffee.jpg')));
    config = loadConfig({ ...s3.env, REDIS_URL: redis.url, LOUPE_SOURCE: `s3://${BUCKET}/cam/`, LOUPE_LOG_LEVEL: 'silent' });
    client = createRedis(config);
    await ensureIndexLayout(client, { shards: 1, bits: 64, plan: DEFAULT_VIEW_PLAN, model: MODEL });
    queues = openQueues(config);
    deadLetters = openDeadLetters(config, { redis: client, logger: createLogger('test', 'silent') });
    failed = new DeadLetterRepository(client);
    etag = (await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: KEY }))).ETag!.replace(/"/g, '');
  });

  afterAll(async () => {
    await deadLetters?.close();
    await queues?.close();
    client?.disconnect();
    await Promise.all([redis?.stop(), s3?.stop()]);
    restoreEnv();
  });

  it('clears the version\'s old encode and index job ids and queues a new ingest job each time', async () => {
    await failed.record({ stage: 'encode', key: KEY, etag, reason: 'bad canonical raster: x', at: new Date().toISOString() });
    await queues.encode.add('encode', { key: KEY }, { jobId: objectJobId('encode', KEY, etag) });
    await queues.index.add('upsert', { key: KEY }, { jobId: indexJobId(KEY, etag, MODEL) });

    expect(await deadLetters.service.retry(KEY)).toBe('requeued');
    expect(await queues.encode.getJob(objectJobId('encode', KEY, etag))).toBeUndefined();
    expect(await queues.index.getJob(indexJobId(KEY, etag, MODEL))).toBeUndefined();
    expect(await deadLetters.service.retry(KEY)).toBe('requeued');
    const jobs = await queues.ingest.getJobs(['waiting']);
    expect(jobs.map((j) => IngestJobSchema.parse(j.data))).toEqual([
      { op: 'upsert', key: KEY, etag, size: expect.any(Number) },
      { op: 'upsert', key: KEY, etag, size: expect.any(Number) },
    ]);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(2);
    expect(jobs.every((j) => j.id !== objectJobId('ingest', KEY, etag))).toBe(true);
    // Still failed until the indexer indexes it.
    expect(await failed.get(KEY)).toMatchObject({ stage: 'encode', etag });
  });

  it('re-runs the object version the key was last queued with, never a newer one', async () => {
    // Discovery (or an S3 event) queued this etag at version 42, and its encode failed.
    await new SeenObjectRepository(client, `s3://${BUCKET}/cam/`).markSeen([{ key: KEY, etag, version: 42 }]);
    await failed.record({ stage: 'encode', key: KEY, etag, reason: 'bad canonical raster: x', at: new Date().toISOString() });
    await queues.encode.add('encode', { key: KEY }, { jobId: objectJobId('encode', KEY, etag, 42) });
    await queues.index.add('upsert', { key: KEY }, { jobId: indexJobId(KEY, etag, MODEL, 42) });
    const waiting = (await queues.ingest.getJobs(['waiting'])).length;

    expect(await deadLetters.service.retry(KEY)).toBe('requeued');
    expect(await queues.encode.getJob(objectJobId('encode', KEY, etag, 42))).toBeUndefined();
    expect(await queues.index.getJob(indexJobId(KEY, etag, MODEL, 42))).toBeUndefined();
    const jobs = await queues.ingest.getJobs(['waiting']);
    expect(jobs).toHaveLength(waiting + 1);
    expect(IngestJobSchema.parse(jobs.find((j) => j.data.version !== undefined)!.data))
      .toEqual({ op: 'upsert', key: KEY, etag, size: expect.any(Number), version: 42 });
  });

  it('retries a video\'s keyframe by cutting its video again', async () => {
    // As if KEY were a video whose frame at 4 s failed at the encoder.
    const frame = `${KEY}#t=4`;
    await failed.record({ stage: 'encode', key: frame, etag, reason: 'bad canonical raster: x', at: new Date().toISOString() });
    await queues.encode.add('encode', { key: frame }, { jobId: objectJobId('encode', frame, etag, 42) });
    const waiting = (await queues.ingest.getJobs(['waiting'])).length;

    expect(await deadLetters.service.retry(frame)).toBe('requeued');
    expect(await queues.encode.getJob(objectJobId('encode', frame, etag, 42))).toBeUndefined();
    const jobs = (await queues.ingest.getJobs(['waiting'])).map((j) => IngestJobSchema.parse(j.data));
    expect(jobs).toHaveLength(waiting + 1);
    expect(jobs.filter((j) => j.key !== KEY)).toEqual([]);
    expect(await failed.get(frame)).toMatchObject({ stage: 'encode' });
    await failed.clear([frame]);
  });

  it('answers null for a key that is not a dead letter, and drops one the source no longer has', async () => {
    expect(await deadLetters.service.retry('cam/never-failed.jpg')).toBeNull();
    await s3.remove(BUCKET, KEY);
    expect(await deadLetters.service.retry(KEY)).toBe('dropped');
    expect(await failed.count()).toBe(0);
    expect(await queues.ingest.getJobs(['waiting'])).toHaveLength(4);
  });
});
