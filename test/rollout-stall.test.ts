import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginGeneration, createLogger, ensureIndexLayout, loadConfig, readGenerations, ShardKeys } from '@loupe/shared';
import { openRollout } from '@loupe/ingest';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { generationLayout as layout } from './support/generation-layout.ts';


describe('rollout that cannot complete (real Redis and queues)', () => {
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
});
