import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginGeneration, createLogger, ensureIndexLayout, generationNamespace, loadConfig, readGenerations, readIndexLayout, ShardKeys, shardOf, type HashModel, type IndexJob } from '@loupe/shared';
import { openRollout } from '@loupe/ingest';
import { GenerationRouter } from '../services/indexer/src/generation-router.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { generationLayout as layout } from './support/generation-layout.ts';


describe('rollouts that cannot complete, or change the shard count (real Redis and queues, the indexer\'s real scripts)', () => {
  let redis: TestRedis;
  let client: Redis;
  let dir: string;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-stall-'));
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops with a message when objects failed to re-encode, and promotes with force', async () => {
    const config = loadConfig({ REDIS_URL: redis.url, LOUPE_SOURCE: `file://${dir}` });
    // Active index: 3 objects; the next one got 2 of them, nothing is pending any more.
    await ensureIndexLayout(client, layout('model-a', 'loupe'));
    await beginGeneration(client, layout('model-b', 'loupe@b'));
    await client.hset(new ShardKeys(0).counters, 'created', 3);
    await client.hset(new ShardKeys(1, 'loupe@b').counters, 'created', 2);
    const handle = openRollout(config, { redis: client, loadModel: () => Promise.reject(new Error('not needed')), logger: createLogger('test', 'silent') });
    const rollout = handle.service;
    try {
      expect(await rollout.progress()).toEqual({
        active: { generation: 'loupe', model: 'model-a', objects: 3 },
        next: { generation: 'loupe@b', model: 'model-b', objects: 2 },
        pending: 0,
      });
      await expect(rollout.finish({ pollMs: 50, stallMs: 300 })).rejects.toThrow(/stalled: 2 of 3 objects/);
      expect(await readGenerations(client)).toEqual({ active: 'loupe', next: 'loupe@b' });
      const done = await rollout.finish({ pollMs: 50, stallMs: 300, force: true, switchTimeoutMs: 0 });
      expect(done).toMatchObject({ generation: 'loupe@b', retired: 'loupe' });
      expect(await readGenerations(client)).toEqual({ active: 'loupe@b', next: null });
      expect(await client.exists(new ShardKeys(0).counters)).toBe(0);
    } finally {
      await handle.close();
    }
  });

  it('creates the next generation with the new count, and the indexer spreads its objects over it', async () => {
    await client.flushall();
    const log = createLogger('test', 'silent');
    const config = loadConfig({ REDIS_URL: redis.url, LOUPE_SOURCE: `file://${dir}` });
    await ensureIndexLayout(client, layout('model-a', 'loupe')); // 2 shards
    const plan = layout('x', 'x').plan;
    const fake = (id: string) => ({ id, bits: 64, plan }) as unknown as HashModel;
    const handle = openRollout(config, { redis: client, loadModel: async (ref) => fake(ref), logger: log });
    try {
      await expect(handle.service.begin('model-a', { shards: 8 })).rejects.toThrow(/already uses model model-a \(a rollout changes the shard count only together with the model\)/);
      const r = await handle.service.begin('model-b', { shards: 8 });
      expect(r).toMatchObject({ generation: generationNamespace('model-b'), model: 'model-b', shards: 8, queued: 0 });
      expect((await readIndexLayout(client, r.generation))?.shards).toBe(8);
      expect(await readGenerations(client)).toEqual({ active: 'loupe', next: r.generation });
      await expect(handle.service.begin('model-b', { shards: 4 })).rejects.toThrow(/in progress is into 8 shards/);

      // Codes of each model land in their own generation, spread by their own count.
      const router = new GenerationRouter(client, log);
      const job = (key: string, model: string): IndexJob => ({
        op: 'upsert', key, etag: 'e1', width: 10, height: 10, model, bits: 64, version: 1,
        views: plan.levels.flatMap((lv, level) => Array.from({ length: lv.kind === 'dct' ? 1 : lv.grid * lv.grid }, (_, index) => ({ level, index, box: { x: 0, y: 0, w: 1, h: 1 }, code: '00'.repeat(8) }))),
      }) as IndexJob;
      const keys = Array.from({ length: 40 }, (_, i) => `photos/${i}.jpg`);
      for (const key of keys) {
        await router.handle(job(key, 'model-a'));
        await router.handle(job(key, 'model-b'));
      }
      const count = async (ns: string, shards: number) =>
        Promise.all(Array.from({ length: shards }, async (_, s) => Number((await client.get(new ShardKeys(s, ns).nextId)) ?? 0)));
      const expected = (shards: number) => Array.from({ length: shards }, (_, s) => keys.filter((k) => shardOf(k, shards) === s).length);
      expect(await count('loupe', 2)).toEqual(expected(2));
      expect(await count(r.generation, 8)).toEqual(expected(8));
      expect((await count(r.generation, 8)).filter((n) => n > 0).length).toBeGreaterThan(4);
    } finally {
      await handle.close();
    }
  });
});
