import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abortGeneration,
  beginGeneration,
  deleteGeneration,
  ensureIndexLayout,
  GenerationConflictError,
  generationNamespace,
  promoteGeneration,
  readGenerations,
  readLiveLayouts,
  servedGenerations,
  reportServing,
  ShardKeys,
} from '@loupe/shared';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { generationLayout as layout } from './support/generation-layout.ts';


describe('index generations (real Redis)', () => {
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

  it('begins one rollout at a time, aborts it and deletes only its shard keys', async () => {
    await ensureIndexLayout(client, layout('model-a', 'loupe'));
    await client.set(new ShardKeys(0).nextId, '5');
    const b = generationNamespace('model-b');
    const c = generationNamespace('model-c');
    expect(b).not.toBe(c);
    await beginGeneration(client, layout('model-b', b));
    await beginGeneration(client, layout('model-b', b)); // resuming the same rollout is fine
    await expect(beginGeneration(client, layout('model-c', c))).rejects.toThrow(GenerationConflictError);
    expect(await readGenerations(client)).toEqual({ active: 'loupe', next: b });
    expect((await readLiveLayouts(client)).next).toMatchObject({ model: 'model-b', namespace: b });

    await client.set(new ShardKeys(1, b).nextId, '3');
    await expect(deleteGeneration(client, b)).rejects.toThrow(/live/);
    expect(await abortGeneration(client, b)).toBe(true);
    expect(await deleteGeneration(client, b)).toBe(1);
    expect(await readGenerations(client)).toEqual({ active: 'loupe', next: null });
    expect(await client.get(new ShardKeys(0).nextId)).toBe('5'); // the active index is untouched
    expect(await client.exists(`${b}:index`)).toBe(0);
  });

  it('promotes only the pending generation, and the old one can then be deleted', async () => {
    const d = generationNamespace('model-d');
    await expect(promoteGeneration(client, d)).rejects.toThrow(GenerationConflictError);
    await beginGeneration(client, layout('model-d', d));
    expect(await promoteGeneration(client, d)).toBe('loupe');
    expect(await readGenerations(client)).toEqual({ active: d, next: null });
    expect(await deleteGeneration(client, 'loupe')).toBeGreaterThan(0);
    expect(await client.keys('loupe:{s*')).toEqual([]);
    expect(await client.exists('loupe:generations')).toBe(1); // not a shard key of the old namespace
  });

  it('lists the generations query services report, forgetting stale heartbeats', async () => {
    await reportServing(client, 'q1', 'gen-1');
    await client.hset('loupe:serving', 'q2', JSON.stringify({ generation: 'gen-0', at: Date.now() - 60_000 }));
    expect(await servedGenerations(client, 15_000)).toEqual(new Map([['q1', 'gen-1']]));
    expect(await client.hexists('loupe:serving', 'q2')).toBe(0);
  });
});
