import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  beginGeneration,
  bytesToHex,
  createLogger,
  DEFAULT_VIEW_PLAN,
  ensureIndexLayout,
  IngestJobSchema,
  IngestKeys,
  loadConfig,
  loadHashModel,
  ObjectVersionClock,
  planViews,
  REPO_ROOT,
  type HashModel,
  type IndexJob,
} from '@loupe/shared';
import { GenerationRouter } from '@loupe/indexer';
import { openRollout } from '@loupe/ingest';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { generationLayout as layout } from './support/generation-layout.ts';
import { captureLogger } from './support/capture-logger.ts';
import { heldObject, holds } from './support/index-probe.ts';
import { openQueues } from './support/test-queues.ts';

/** An upsert of `model`'s codes (64 bits, every byte `fill`) at `version`. */
function upsert(model: string, key: string, etag: string, fill: number, version: number): IndexJob {
  return {
    op: 'upsert', key, etag, width: 320, height: 240, model, bits: 64, version,
    views: planViews(DEFAULT_VIEW_PLAN, 320, 240).map((v) => ({ ...v, code: bytesToHex(new Uint8Array(8).fill(fill)) })),
  };
}

describe('object versions during a rollout (real Redis)', () => {
  let redis: TestRedis;
  let client: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  describe('in both live generations', () => {
    const NEXT = 'loupe@b';
    let router: GenerationRouter;
    const logs = captureLogger();
    const inBoth = async (key: string) => Promise.all(['loupe', NEXT].map((ns) => heldObject(client, ns, 2, key)));

    beforeAll(async () => {
      await ensureIndexLayout(client, layout('model-a', 'loupe'));
      await beginGeneration(client, layout('model-b', NEXT));
      router = new GenerationRouter(client, logs.logger);
    });

    it('keeps the newer version in each generation when the encoders finish out of order', async () => {
      const key = 'r/out-of-order.jpg';
      // Discovery's newer version (for both generations) lands first...
      for (const m of ['model-a', 'model-b']) await router.handle(upsert(m, key, 'e2', 2, 2000));
      // ...then the older one from each encoder, and the backfill's older copy for the next generation.
      for (const m of ['model-a', 'model-b']) expect(await router.handle(upsert(m, key, 'e1', 1, 1000))).toMatchObject([{ outcome: 'stale', held: 2000 }]);
      expect(await router.handle(upsert('model-b', key, 'e1', 1, 1500))).toMatchObject([{ outcome: 'stale', held: 2000 }]);
      const [active, next] = await inBoth(key);
      expect(holds(active, 'e2', 2000) && holds(next, 'e2', 2000)).toBe(true);
      const generations = logs.events('stale-write').map((l) => l.generation);
      expect(generations.filter((g) => g === 'loupe')).toHaveLength(1);
      expect(generations.filter((g) => g === NEXT)).toHaveLength(2);
    });

    it('keeps a deleted object deleted in both generations when an older version is indexed late', async () => {
      const key = 'r/deleted.jpg';
      await router.handle(upsert('model-a', key, 'e1', 1, 100));
      // The next generation has not got it yet (its backfill job is still queued) when it is deleted.
      const deleted = await router.handle({ op: 'delete', key, version: 300 });
      expect(deleted.map((d) => d.outcome).sort()).toEqual(['absent', 'deleted']);
      // Late: the backfill's copy for the next generation, and a version encoded for both.
      expect(await router.handle(upsert('model-b', key, 'e1', 1, 200))).toMatchObject([{ outcome: 'stale', held: 300 }]);
      for (const m of ['model-a', 'model-b']) expect(await router.handle(upsert(m, key, 'e1b', 3, 250))).toMatchObject([{ outcome: 'stale', id: null }]);
      expect(await inBoth(key)).toEqual([null, null]);
    });
  });

  describe('backfill', () => {
    let dir: string;
    let model: HashModel;
    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-rollout-versions-'));
      const samples = path.join(REPO_ROOT, 'samples');
      for (const f of readdirSync(samples).filter((f) => f.endsWith('.jpg')).slice(0, 3)) cpSync(path.join(samples, f), path.join(dir, f));
      model = await loadHashModel('builtin:mobilenetv2-rp128', { logger: createLogger('test', 'warn') });
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('waits for a running discovery pass, then stamps its jobs with a newer version', async () => {
      const fresh = await startRedis();
      const c = new Redis(fresh.url);
      const config = loadConfig({ REDIS_URL: fresh.url, LOUPE_SOURCE: pathToFileURL(dir).href });
      const queues = openQueues(config);
      const handle = openRollout(config, { redis: c, loadModel: async () => model, logger: createLogger('test', 'silent') });
      try {
        await ensureIndexLayout(c, { shards: 2, bits: 64, plan: model.plan, model: 'model-a', namespace: 'loupe' });
        // A discovery pass of this source is running: it holds the lock and has its version.
        const lock = new IngestKeys().discoveryLock(pathToFileURL(dir).href);
        await c.set(lock, 'pass-token', 'PX', 60_000);
        const passVersion = await new ObjectVersionClock(c).next();

        let done = false;
        const begun = handle.service.begin('builtin:mobilenetv2-rp128').finally(() => (done = true));
        await new Promise((r) => setTimeout(r, 800));
        expect(done).toBe(false);
        expect(await queues.ingest.count()).toBe(0);

        await c.del(lock); // the pass ends
        const { generation, queued } = await begun;
        expect(queued).toBe(3);
        const jobs = (await queues.ingest.getJobs(['waiting'])).map((j) => IngestJobSchema.parse(j.data));
        expect(jobs).toHaveLength(3);
        const versions = new Set(jobs.map((j) => j.version));
        expect(versions.size).toBe(1);
        expect([...versions][0]).toBeGreaterThan(passVersion);
        expect(jobs.every((j) => j.op === 'upsert' && j.generation === generation)).toBe(true);
        expect(await c.exists(lock)).toBe(0); // released for the next pass
      } finally {
        await handle.close();
        await queues.close();
        c.disconnect();
        await fresh.stop();
      }
    });
  });
});
