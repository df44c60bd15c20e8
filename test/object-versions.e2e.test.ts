import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  beginGeneration,
  createLogger,
  createRedis,
  DEFAULT_VIEW_PLAN,
  generationNamespace,
  imageLimits,
  indexJobId,
  loadConfig,
  loadHashModel,
  objectJobId,
  prepareImage,
  readShardCounters,
  readIndexLayout,
  REPO_ROOT,
  type EncodeJob,
  type LoupeConfig,
  type RedisClient,
  type StoredIndexLayout,
} from '@loupe/shared';
import { startEncoder } from '@loupe/encoder';
import { startIndexer } from '@loupe/indexer';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { waitFor } from './support/capture-logger.ts';
import { heldObject, holds } from './support/index-probe.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';

const PHOTOS = path.join(REPO_ROOT, 'test/fixtures/photos');
const ACTIVE_MODEL = 'builtin:mobilenetv2-rp64';
const NEXT_MODEL = 'builtin:mobilenetv2-rp128';

describe('object versions through the real encoder and indexer (real Redis, real CNN)', () => {
  let redis: TestRedis;
  let config: LoupeConfig;
  let client: RedisClient;
  let queues: TestQueues;
  let services: { close(): Promise<void> }[] = [];
  let active: StoredIndexLayout;

  /** An encode job as ingest makes it from a photo, at `version`, for every live generation or one. */
  async function encodeJob(file: string, key: string, etag: string, version: number, generation?: string): Promise<EncodeJob> {
    const image = await prepareImage(readFileSync(path.join(PHOTOS, file)), imageLimits(config), DEFAULT_VIEW_PLAN);
    return { key, etag, version, width: image.width, height: image.height, image: image.canonical.toString('base64'), views: image.views, ...(generation ? { generation } : {}) };
  }

  /** Queues an encode job and waits until the indexer completed its index job for each model; returns their results. */
  async function encodeAndIndex(job: EncodeJob, models: string[]): Promise<unknown[]> {
    await queues.encode.add('encode', job, { jobId: objectJobId(job.generation ? `encode@${job.generation}` : 'encode', job.key, job.etag, job.version) });
    return Promise.all(models.map((m) => completed(indexJobId(job.key, job.etag, m, job.version))));
  }

  /** Waits for an index job to complete (not fail) and returns what the indexer returned. */
  async function completed(jobId: string): Promise<unknown> {
    await waitFor(async () => {
      const state = await queues.index.getJobState(jobId);
      if (state === 'failed') throw new Error(`index job ${jobId} failed: ${(await queues.index.getJob(jobId))?.failedReason}`);
      return state === 'completed';
    }, 120_000);
    // Read once completed: the job and its return value are written in one step.
    return (await queues.index.getJob(jobId))!.returnvalue;
  }

  async function remove(key: string, version: number): Promise<unknown> {
    const jobId = objectJobId('index-del', key, String(version));
    await queues.index.add('delete', { op: 'delete', key, version }, { jobId });
    return completed(jobId);
  }

  const stale = async (layout: StoredIndexLayout) => (await readShardCounters(client, layout)).reduce((n, c) => n + c.stale, 0);

  beforeAll(async () => {
    redis = await startRedis();
    config = loadConfig({ REDIS_URL: redis.url, LOUPE_LOG_LEVEL: 'silent', LOUPE_SHARDS: '2', LOUPE_ENCODE_BATCH: '4', LOUPE_MODEL: ACTIVE_MODEL });
    client = createRedis(config);
    queues = openQueues(config);
    services = [await startIndexer(config), await startEncoder(config)];
    active = (await readIndexLayout(client))!;
  });

  afterAll(async () => {
    for (const s of services.reverse()) await s.close();
    await queues?.close();
    client?.disconnect();
    await redis?.stop();
  });

  it('indexes the newer of two versions encoded out of order, and keeps a deleted object deleted', async () => {
    const key = 'v/photo.jpg';
    // The newer version (horse) is encoded and indexed first, the older one (messi) after it.
    expect(await encodeAndIndex(await encodeJob('horse.jpg', key, 'e-horse', 20), [ACTIVE_MODEL])).toMatchObject([[{ outcome: 'created' }]]);
    expect(await encodeAndIndex(await encodeJob('messi.jpg', key, 'e-messi', 10), [ACTIVE_MODEL])).toMatchObject([[{ outcome: 'stale', held: 20 }]]);
    expect(holds(await heldObject(client, 'loupe', 2, key), 'e-horse', 20)).toBe(true);
    expect(await stale(active)).toBe(1);

    expect(await remove(key, 30)).toMatchObject([{ outcome: 'deleted' }]);
    // A version seen before the delete but encoded after it must not bring the object back.
    expect(await encodeAndIndex(await encodeJob('board.jpg', key, 'e-board', 25), [ACTIVE_MODEL])).toMatchObject([[{ outcome: 'stale', id: null, held: 30 }]]);
    expect(await heldObject(client, 'loupe', 2, key)).toBeNull();
    // Refused writes complete: nothing failed, nothing was dead-lettered.
    expect(await queues.index.getJobCounts('failed')).toEqual({ failed: 0 });
    expect(await queues.dead.count()).toBe(0);
  });

  it('does the same in both generations while a rollout runs', async () => {
    const model = await loadHashModel(NEXT_MODEL, { logger: createLogger('test', 'warn') });
    const ns = generationNamespace(model.id);
    const next = { shards: 2, bits: model.bits, plan: model.plan, model: model.id, namespace: ns, modelRef: NEXT_MODEL };
    await beginGeneration(client, next);
    const both = [ACTIVE_MODEL, model.id];
    const inBoth = async (key: string) => Promise.all(['loupe', ns].map((g) => heldObject(client, g, 2, key)));

    const key = 'v/rolled.jpg';
    expect(await encodeAndIndex(await encodeJob('horse.jpg', key, 'e-horse', 120), both)).toMatchObject([[{ outcome: 'created' }], [{ outcome: 'created' }]]);
    // Late: the rollout's backfill copy (next generation only) and an older version for both.
    expect(await encodeAndIndex(await encodeJob('retina.jpg', key, 'e-retina', 115, ns), [model.id])).toMatchObject([[{ outcome: 'stale', held: 120 }]]);
    expect(await encodeAndIndex(await encodeJob('messi.jpg', key, 'e-messi', 110), both)).toMatchObject([[{ outcome: 'stale' }], [{ outcome: 'stale' }]]);
    const [inActive, inNext] = await inBoth(key);
    expect(holds(inActive, 'e-horse', 120) && holds(inNext, 'e-horse', 120)).toBe(true);

    expect(await remove(key, 130)).toMatchObject([{ outcome: 'deleted' }, { outcome: 'deleted' }]);
    expect(await encodeAndIndex(await encodeJob('board.jpg', key, 'e-board', 125), both)).toMatchObject([[{ outcome: 'stale', id: null }], [{ outcome: 'stale', id: null }]]);
    expect(await inBoth(key)).toEqual([null, null]);
    expect(await stale(next)).toBe(3);
    expect(await queues.dead.count()).toBe(0);
  });
});
