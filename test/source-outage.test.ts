import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { DEFAULT_VIEW_PLAN, ensureIndexLayout, loadConfig, loadHashModel, objectJobId, REPO_ROOT, type LoupeConfig } from '@loupe/shared';
import { startIngest, type IngestHandle } from '@loupe/ingest';
import { startQuery } from '@loupe/query';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { startS3, type TestS3 } from './support/s3-server.ts';
import { startFaultyProxy, isObjectRead, type FaultyProxy } from './support/faulty-proxy.ts';
import { captureLogger, waitFor } from './support/capture-logger.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';

const BUCKET = 'outage';
const SAMPLES = path.join(REPO_ROOT, 'samples');
const IMAGES = ['coffee.jpg', 'rocket.jpg', 'chelsea-cat.jpg'];

/**
 * An S3 source that answers 503 for a while (a proxy in front of fauxqs): ingest's listing and
 * reads wait with back-off instead of failing, /v1/stats shows the source as retrying with the
 * error, one log line marks each change, and once S3 answers again every object goes on to the
 * encoder: nothing dead-lettered, nothing lost. One object failing while S3 answers is that
 * object's fault, and goes through the job's retries to the dead-letter queue.
 */
describe('S3 source outage (503s from a proxy in front of fauxqs)', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let proxy: FaultyProxy;
  let config: LoupeConfig;
  let ingest: IngestHandle;
  let query: Awaited<ReturnType<typeof startQuery>>;
  let queues: TestQueues;
  const logs = captureLogger();
  const saved: Record<string, string | undefined> = {};

  const stats = async () => (await fetch(`http://127.0.0.1:${query.port}/v1/stats`)).json();
  const etagOf = async (key: string) => (await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag!.replace(/"/g, '');
  const sourceEvents = () => logs.lines.filter((l) => l.event === 'source-retrying' || l.event === 'source-ok').map((l) => l.event);

  beforeAll(async () => {
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    s3.createBucket(BUCKET);
    for (const f of IMAGES) await s3.put(BUCKET, f, readFileSync(path.join(SAMPLES, f)));
    proxy = await startFaultyProxy(s3.endpoint);
    // Credentials reach the SDK the way they do in production: from the environment.
    for (const [k, v] of Object.entries(s3.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    config = loadConfig({
      ...s3.env,
      S3_ENDPOINT: proxy.url,
      LOUPE_SOURCE: `s3://${BUCKET}`,
      REDIS_URL: redis.url,
      LOUPE_POLL_MS: '0',
      LOUPE_QUERY_PORT: '0',
      LOUPE_SHARDS: '2',
      LOUPE_VERIFY_FROM_SOURCE: 'false',
      LOUPE_LOG_LEVEL: 'warn',
    });
    const model = await loadHashModel(config.LOUPE_MODEL);
    const probe = new Redis(redis.url);
    await ensureIndexLayout(probe, { shards: 2, bits: model.bits, plan: model.plan ?? DEFAULT_VIEW_PLAN, model: model.id });
    probe.disconnect();
    query = await startQuery(config);
    queues = openQueues(config);
    ingest = await startIngest(config, { discovery: 'manual', logger: logs.logger, sourceRetry: { firstDelayMs: 100, maxDelayMs: 400, maxTries: 2 } });
  }, 120_000);

  afterAll(async () => {
    proxy.failWhen = () => false;
    await ingest?.close();
    await query?.close();
    await queues?.close();
    await proxy?.close();
    await Promise.all([redis?.stop(), s3?.stop()]);
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('reports "unknown" before ingest has read the source', async () => {
    expect((await stats()).source).toEqual({ url: `s3://${BUCKET}/`, state: 'unknown', since: null, lastError: null });
  });

  it('keeps listing through 503s, shows the source as retrying, then queues every object once S3 answers', async () => {
    proxy.failWhen = () => true;
    const pass = ingest.discoverOnce();
    const retrying = await waitFor(async () => {
      const s = await stats();
      return s.source.state === 'retrying' && s.source;
    });
    expect(retrying.since).toEqual(expect.any(String));
    expect(retrying.lastError).toMatch(/ServiceUnavailable.*503/);
    // Several rounds of the SDK's retries and our back-off later: still one line for the outage.
    await waitFor(() => proxy.failed >= 12, 60_000);
    expect(sourceEvents()).toEqual(['source-retrying']);

    proxy.failWhen = () => false;
    expect(await pass).toMatchObject({ ran: true, listed: IMAGES.length, new: IMAGES.length });
    await waitFor(async () => (await queues.encode.count()) === IMAGES.length, 60_000);
    expect(sourceEvents()).toEqual(['source-retrying', 'source-ok']);
    const ok = (await stats()).source;
    expect([ok.state, ok.lastError]).toEqual(['ok', expect.stringMatching(/503/)]); // the last error kept for the record
  }, 180_000);

  it('holds an object read while S3 is out, spending no job attempt, and finishes it once S3 answers', async () => {
    const key = 'late.jpg';
    await s3.put(BUCKET, key, readFileSync(path.join(SAMPLES, 'astronaut.jpg')));
    proxy.failWhen = () => true;
    await queues.ingest.add('upsert', { op: 'upsert', key, etag: await etagOf(key) }, { jobId: objectJobId('ingest', key, await etagOf(key)) });
    await waitFor(async () => (await stats()).source.state === 'retrying');
    const failedBefore = proxy.failed;
    // Past maxTries: the probe (a listing) fails too, so the source is out, not the object: the read waits.
    await waitFor(() => proxy.failed >= failedBefore + 12, 60_000);
    expect(await queues.ingest.getJobCounts('failed', 'active')).toEqual({ failed: 0, active: 1 });
    expect(sourceEvents()).toEqual(['source-retrying', 'source-ok', 'source-retrying']);

    proxy.failWhen = () => false;
    await waitFor(async () => (await queues.encode.count()) === IMAGES.length + 1, 60_000);
    await waitFor(async () => (await stats()).source.state === 'ok');
    expect(sourceEvents()).toEqual(['source-retrying', 'source-ok', 'source-retrying', 'source-ok']);
    expect(await queues.ingest.getJobCounts('failed', 'completed')).toEqual({ failed: 0, completed: IMAGES.length + 1 });
    expect(await queues.dead.count()).toBe(0);
    // The outages were logged as the events above, never as errors.
    expect(logs.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  }, 180_000);

  it('gives up on one object that keeps failing while S3 answers: the job\'s retries, then dead-lettered', async () => {
    const key = 'broken.jpg';
    await s3.put(BUCKET, key, readFileSync(path.join(SAMPLES, 'baboon.jpg')));
    proxy.failWhen = (req) => isObjectRead(req) && req.url!.includes(key);
    const etag = await etagOf(key);
    await queues.ingest.add('upsert', { op: 'upsert', key, etag }, { jobId: objectJobId('ingest', key, etag) });
    const dead = await waitFor(async () => (await queues.dead.getJobs(['waiting']))[0], 120_000);
    expect(dead.data).toMatchObject({ stage: 'ingest', key, reason: expect.stringMatching(/^fetch-failed: .*503.*after 3 attempts/) });
    expect(await queues.encode.count()).toBe(IMAGES.length + 1);
  }, 180_000);
});
