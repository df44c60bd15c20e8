import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEFAULT_VIEW_PLAN, ensureIndexLayout, loadConfig, loadHashModel, REPO_ROOT, type LoupeConfig } from '@loupe/shared';
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
 * encoder: nothing dead-lettered, nothing lost.
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
    ingest = await startIngest(config, { discovery: 'manual', logger: logs.logger, sourceRetry: { firstDelayMs: 100, maxDelayMs: 400 } });
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

    // Listing works again, object reads do not yet.
    proxy.failWhen = isObjectRead;
    const report = await pass;
    expect(report).toMatchObject({ ran: true, listed: IMAGES.length, new: IMAGES.length });
    expect(sourceEvents().slice(0, 2)).toEqual(['source-retrying', 'source-ok']);

    // The ingest jobs wait for their reads: none fails, none is dead-lettered, the source is retrying again.
    const failedBefore = proxy.failed;
    await waitFor(() => proxy.failed >= failedBefore + 12, 60_000);
    expect((await stats()).source.state).toBe('retrying');
    expect(sourceEvents()).toEqual(['source-retrying', 'source-ok', 'source-retrying']);
    expect(await queues.ingest.getJobCounts('failed', 'completed')).toEqual({ failed: 0, completed: 0 });
    expect(await queues.encode.count()).toBe(0);

    proxy.failWhen = () => false;
    await waitFor(async () => (await queues.encode.count()) === IMAGES.length, 60_000);
    await waitFor(async () => (await stats()).source.state === 'ok');
    const ok = (await stats()).source;
    expect(ok.lastError).toMatch(/503/); // kept for the record
    expect(sourceEvents()).toEqual(['source-retrying', 'source-ok', 'source-retrying', 'source-ok']);
    expect(await queues.dead.count()).toBe(0);
    expect(await queues.ingest.getJobCounts('failed', 'completed')).toEqual({ failed: 0, completed: IMAGES.length });
    // The pause was logged as the events above, never as errors.
    expect(logs.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  }, 180_000);
});
