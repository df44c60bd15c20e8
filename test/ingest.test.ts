import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Queue } from 'bullmq';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CANONICAL_SIDE,
  createRedis,
  createWorker,
  decodeCanonical,
  DeadJobSchema,
  EncodeJobSchema,
  IndexJobSchema,
  loadConfig,
  objectJobId,
  QueueNames,
  readSourceState,
  REPO_ROOT,
  type LoupeConfig,
} from '@loupe/shared';
import { startIngest, type IngestHandle } from '@loupe/ingest';
import { freePort, startRedis, type TestRedis } from './support/redis-server.ts';
import { startS3, type TestS3, useS3Env } from './support/s3-server.ts';
import { captureLogger, waitFor } from './support/capture-logger.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';

const BUCKET = 'photos';
const SAMPLES = path.join(REPO_ROOT, 'samples');
const BAD = path.join(REPO_ROOT, 'test/fixtures/bad-images');
const GOOD = ['astronaut.jpg', 'baboon.jpg', 'chelsea-cat.jpg', 'coffee.jpg', 'coins.jpg', 'fruits.jpg', 'home.jpg',
  'rocket.jpg', 'butterfly.jpg', 'squirrel.jpg'];

let redis: TestRedis;
let s3: TestS3;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  s3.createBucket(BUCKET);
  // Credentials reach the service the way they do in production: the SDK reads the environment.
  restoreEnv = useS3Env(s3);
});

afterAll(async () => {
  restoreEnv();
  await Promise.all([redis?.stop(), s3?.stop()]);
});

function configFor(prefix: string, extra: Record<string, string> = {}): LoupeConfig {
  return loadConfig({
    ...s3.env,
    LOUPE_SOURCE: `s3://${BUCKET}/${prefix}`,
    REDIS_URL: redis.url,
    LOUPE_POLL_MS: '0',
    LOUPE_QUEUE_PREFIX: prefix.replace(/\W/g, ''),
    LOUPE_LOG_LEVEL: 'silent',
    ...extra,
  });
}

async function etagsUnder(prefix: string): Promise<Map<string, string>> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return new Map((r.Contents ?? []).map((o) => [o.Key!, o.ETag!.replace(/"/g, '')]));
}

async function backlog(q: Queue): Promise<number> {
  const c = await q.getJobCounts('waiting', 'prioritized', 'paused', 'delayed');
  return c.waiting + c.prioritized + c.paused + c.delayed;
}

describe('ingest from S3 (fauxqs) into real Redis', () => {
  const prefix = 'cam/';
  let config: LoupeConfig;
  let ingest: IngestHandle;
  let queues: TestQueues;
  const logs = captureLogger();

  beforeAll(async () => {
    for (const f of GOOD) await s3.put(BUCKET, `${prefix}${f}`, readFileSync(path.join(SAMPLES, f)));
    await s3.put(BUCKET, `${prefix}bad/text.jpg`, readFileSync(path.join(BAD, 'text.jpg')));
    await s3.put(BUCKET, `${prefix}bad/truncated-body.jpg`, readFileSync(path.join(BAD, 'truncated-body.jpg')));
    await s3.put(BUCKET, `${prefix}README.md`, '# not an image, skipped by name\n');
    await s3.put(BUCKET, 'elsewhere/outside-prefix.jpg', readFileSync(path.join(SAMPLES, 'apple.jpg')));
    config = configFor(prefix);
    queues = openQueues(config);
    ingest = await startIngest(config, { discovery: 'manual', logger: logs.logger });
  });

  afterAll(async () => {
    await ingest?.close();
    await queues?.close();
  });

  /** Etag and version of every waiting encode job of `key`. */
  const encodeJobsOf = async (key: string) =>
    (await queues.encode.getJobs(['waiting'])).filter((j) => j.data.key === key).map((j) => ({ etag: j.data.etag, version: j.data.version }));

  // discoverOnce() returns once its jobs are queued, so "nothing left to run" means all done.
  const settled = () =>
    waitFor(async () => {
      const c = await queues.ingest.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed', 'prioritized');
      return c.waiting + c.active + c.delayed + c.prioritized === 0 ? c : null;
    });

  it('backfills: one encode job per image, bad objects dead-lettered with reasons', async () => {
    const report = await ingest.discoverOnce();
    expect(report).toMatchObject({ ran: true, listed: 13, skipped: 1, new: 12, changed: 0, deleted: 0 });
    expect(report.version).toBeGreaterThan(0);
    const counts = await settled();
    expect(counts).toMatchObject({ completed: 12, failed: 0 });

    const etags = await etagsUnder(prefix);
    const encodeJobs = await queues.encode.getJobs(['waiting']);
    expect(encodeJobs).toHaveLength(GOOD.length);
    const expectedIds = GOOD.map((f) => objectJobId('encode', `${prefix}${f}`, etags.get(`${prefix}${f}`)!, report.version)).sort();
    expect(encodeJobs.map((j) => j.id).sort()).toEqual(expectedIds);
    for (const job of encodeJobs.slice(0, 3)) {
      const data = EncodeJobSchema.parse(job.data);
      const meta = await sharp(path.join(SAMPLES, path.basename(data.key))).metadata();
      expect([data.width, data.height]).toEqual([meta.width, meta.height]);
      const raster = await decodeCanonical(data.image);
      expect([raster.width, raster.height]).toEqual([CANONICAL_SIDE, CANONICAL_SIDE]);
      expect(data.views[0].box).toEqual({ x: 0, y: 0, w: meta.width, h: meta.height });
    }

    const dead = (await queues.dead.getJobs(['waiting'])).map((j) => DeadJobSchema.parse(j.data));
    expect(dead.map((d) => d.key).sort()).toEqual([`${prefix}bad/text.jpg`, `${prefix}bad/truncated-body.jpg`]);
    const reasons = Object.fromEntries(dead.map((d) => [path.basename(d.key), d.reason]));
    expect(reasons['text.jpg']).toMatch(/^not-an-image: /);
    // libvips usually says "premature end of JPEG image"; under load its per-thread error text is
    // sometimes lost ("Unknown error", seen once in CI), so only the category is asserted.
    expect(reasons['truncated-body.jpg']).toMatch(/^corrupt: \S/);
    expect(dead.every((d) => d.stage === 'ingest' && d.etag === etags.get(d.key))).toBe(true);

    expect(logs.events('discovery').at(-1)).toMatchObject({ new: 12, skipped: 1 });
    expect(logs.events('dead-letter')).toHaveLength(2);
  });

  it('a second discovery adds nothing', async () => {
    const before = await queues.ingest.getJobCounts('completed', 'waiting');
    const report = await ingest.discoverOnce();
    expect(report).toMatchObject({ listed: 13, new: 0, changed: 0, unchanged: 12, deleted: 0 });
    expect(await queues.ingest.getJobCounts('completed', 'waiting')).toEqual(before);
    expect(await queues.encode.count()).toBe(GOOD.length);
  });

  it('a changed object gives exactly one new encode job; reverting it gives one more', async () => {
    const key = `${prefix}baboon.jpg`;
    const original = readFileSync(path.join(SAMPLES, 'baboon.jpg'));
    const oldEtag = (await etagsUnder(prefix)).get(key)!;
    await s3.put(BUCKET, key, readFileSync(path.join(SAMPLES, 'orange.jpg')));
    const newEtag = (await etagsUnder(prefix)).get(key)!;
    expect(newEtag).not.toBe(oldEtag);

    const changed = await ingest.discoverOnce();
    expect(changed).toMatchObject({ new: 0, changed: 1, unchanged: 11, deleted: 0 });
    await settled();
    // The superseded, never-encoded version was withdrawn from the encode queue.
    expect(await encodeJobsOf(key)).toEqual([{ etag: newEtag, version: changed.version }]);
    expect(await queues.encode.getJob(objectJobId('encode', key, newEtag, changed.version))).toBeTruthy();
    expect(await queues.encode.count()).toBe(GOOD.length);

    // Back to the original bytes (same etag as before): a new version again, not a duplicate.
    await s3.put(BUCKET, key, original);
    const reverted = await ingest.discoverOnce();
    expect(reverted).toMatchObject({ changed: 1 });
    expect(reverted.version).toBeGreaterThan(changed.version);
    await settled();
    expect(await encodeJobsOf(key)).toEqual([{ etag: oldEtag, version: reverted.version }]);
  });

  it('a deleted object gives one delete index job', async () => {
    const key = `${prefix}coffee.jpg`;
    await s3.remove(BUCKET, key);
    const report = await ingest.discoverOnce();
    expect(report).toMatchObject({ listed: 12, deleted: 1, new: 0, changed: 0 });
    await settled();
    const indexJobs = await queues.index.getJobs(['waiting']);
    expect(indexJobs).toHaveLength(1);
    // It carries its pass's version, so a late index of an older version cannot bring it back.
    expect(IndexJobSchema.parse(indexJobs[0].data)).toEqual({ op: 'delete', key, version: report.version });
    expect(indexJobs[0].id).toMatch(/^index-del-/);
    // Gone for good: another pass deletes nothing more.
    expect(await ingest.discoverOnce()).toMatchObject({ deleted: 0, unchanged: 11 });
    expect(await queues.index.count()).toBe(1);
  });
});

describe('ingest backpressure', () => {
  const prefix = 'bp/';
  const BOUND = 3;
  const FILES = GOOD.slice(0, 8);

  it('stops at LOUPE_ENCODE_BACKLOG while no encoder runs, and resumes when one drains the queue', async () => {
    for (const f of FILES) await s3.put(BUCKET, `${prefix}${f}`, readFileSync(path.join(SAMPLES, f)));
    const config = configFor(prefix, { LOUPE_ENCODE_BACKLOG: String(BOUND), LOUPE_CONCURRENCY: '2' });
    const logs = captureLogger();
    const queues = openQueues(config);
    const { ingest: ingestQueue, encode: encodeQueue } = queues;
    const ingest = await startIngest(config, { discovery: 'manual', logger: logs.logger, backpressurePollMs: 100 });
    let maxBacklog = 0;
    const sampler = setInterval(() => void backlog(encodeQueue).then((n) => (maxBacklog = Math.max(maxBacklog, n))), 20);
    try {
      expect(await ingest.discoverOnce()).toMatchObject({ new: FILES.length });
      await waitFor(() => logs.events('backpressure').some((l) => l.on === true));
      await waitFor(async () => (await backlog(encodeQueue)) === BOUND);
      // Stays held back: nothing more reaches the encode queue while no encoder runs.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await backlog(encodeQueue)).toBe(BOUND);
      const held = await ingestQueue.getJobCounts('waiting', 'active', 'completed');
      expect(held.completed).toBe(BOUND);
      expect(held.waiting + held.active).toBe(FILES.length - BOUND);

      // An encoder appears and drains the queue: ingest resumes and finishes.
      const encoderRedis = createRedis(config, { blocking: true, name: 'test-encoder' });
      const encoder = createWorker(QueueNames.encode, config, async () => {
        await new Promise((r) => setTimeout(r, 30));
      }, { connection: encoderRedis });
      try {
        await waitFor(async () => (await encodeQueue.getJobCounts('completed')).completed === FILES.length, 60_000);
      } finally {
        await encoder.close();
        await encoderRedis.quit();
      }
      expect(logs.events('backpressure').some((l) => l.on === false)).toBe(true);
      expect((await ingestQueue.getJobCounts('completed')).completed).toBe(FILES.length);
      expect(maxBacklog).toBeLessThanOrEqual(BOUND);
    } finally {
      clearInterval(sampler);
      await ingest.close();
      await queues.close();
    }
  });
});

describe('ingest limits and failures', () => {
  it('refuses an object over LOUPE_MAX_BYTES (dead-letter too-large-bytes) and carries on', async () => {
    const config = configFor('big/', { LOUPE_MAX_BYTES: '100000' });
    await s3.put(BUCKET, 'big/hubble.jpg', readFileSync(path.join(SAMPLES, 'hubble-deep-field.jpg'))); // 528 kB
    await s3.put(BUCKET, 'big/astronaut.jpg', readFileSync(path.join(SAMPLES, 'astronaut.jpg'))); // 66 kB
    const queues = openQueues(config);
    const ingest = await startIngest(config, { discovery: 'manual', logger: captureLogger().logger });
    try {
      expect(await ingest.discoverOnce()).toMatchObject({ new: 2 });
      await waitFor(async () => (await queues.ingest.getJobCounts('completed')).completed === 2);
      expect((await queues.encode.getJobs(['waiting'])).map((j) => j.data.key)).toEqual(['big/astronaut.jpg']);
      const dead = (await queues.dead.getJobs(['waiting'])).map((j) => DeadJobSchema.parse(j.data));
      expect(dead.map((d) => [d.key, d.reason])).toEqual([['big/hubble.jpg', 'too-large-bytes: 527940 bytes is over the limit of 100000']]);
    } finally {
      await ingest.close();
      await queues.close();
    }
  });

  it('waits out a source that refuses connections: no job attempt spent, nothing dead-lettered, the source reported retrying', async () => {
    // A real connection failure: the S3 endpoint is a port nothing listens on.
    const config = configFor('down/', { S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    const queues = openQueues(config);
    const key = 'down/photo.jpg';
    const jobId = objectJobId('ingest', key, 'abc123');
    // The job discovery would have made before the server went away.
    await queues.ingest.add('upsert', { op: 'upsert', key, etag: 'abc123', size: 1000 }, { jobId });
    const logs = captureLogger();
    const ingest = await startIngest(config, { discovery: 'manual', logger: logs.logger, sourceRetry: { firstDelayMs: 50, maxDelayMs: 200, maxTries: 2 } });
    try {
      await waitFor(() => logs.events('source-retrying').length === 1, 30_000);
      // Many back-off rounds later (well past maxTries: no read ever succeeded, so the source is out, not the object)...
      await new Promise((r) => setTimeout(r, 3000));
      const job = (await queues.ingest.getJob(jobId))!;
      expect([await job.getState(), job.attemptsMade]).toEqual(['active', 0]);
      expect(await queues.dead.count()).toBe(0);
      expect(logs.events('source-retrying')).toHaveLength(1);
      const state = await readSourceState(queues.connection, `s3://${BUCKET}/down/`);
      expect(state).toMatchObject({ state: 'retrying', lastError: expect.stringMatching(/ECONNREFUSED/) });
    } finally {
      await ingest.close();
    }
    // Shut down while waiting: the job is put back for later, still without a spent attempt.
    const job = (await queues.ingest.getJob(jobId))!;
    expect([await job.getState(), job.attemptsMade]).toEqual(['delayed', 0]);
    expect(await queues.dead.count()).toBe(0);
    await queues.close();
  });
});
