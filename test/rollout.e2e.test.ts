import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, GENERATIONS_KEY, loadHashModel, REPO_ROOT } from '@loupe/shared';
import { openRollout } from '@loupe/ingest';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { searchBytes, startPipeline, waitFor, type RunningPipeline } from './support/pipeline.ts';

const SAMPLES = path.join(REPO_ROOT, 'samples');
const photos = readdirSync(SAMPLES).filter((f) => f.endsWith('.jpg')).sort().slice(0, 7);
const [late, ...initial] = photos; // `late` is added to the bucket while the rollout runs

async function stats(base: string) {
  return (await fetch(`${base}/v1/stats`)).json();
}

describe('model rollout: re-encode the index in the background, switch queries without downtime', () => {
  let redis: TestRedis;
  let client: Redis;
  let dir: string;
  let pipeline: RunningPipeline;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-rollout-'));
    for (const f of initial) cpSync(path.join(SAMPLES, f), path.join(dir, f));
    pipeline = await startPipeline({
      REDIS_URL: redis.url,
      LOUPE_SOURCE: `file://${dir}`,
      LOUPE_SHARDS: '2',
      LOUPE_MODEL: 'builtin:mobilenetv2-rp64',
      LOUPE_POLL_MS: '300',
    });
    await waitFor('the first index', async () => {
      const s = await stats(pipeline.base);
      return s.indexed === initial.length && s.pending === 0 && s;
    });
  });

  afterAll(async () => {
    await pipeline?.close();
    client?.disconnect();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rolls out a 128-bit model while queries keep being answered, then deletes the old index', async () => {
    const before = await stats(pipeline.base);
    expect(before).toMatchObject({ bits: 64, generation: 'loupe', rollout: null });

    // Queries all along the rollout: each must be answered, with its photo first.
    const probe = readFileSync(path.join(SAMPLES, initial[0]));
    const answers: { status: number; key?: string }[] = [];
    let querying = true;
    const load = (async () => {
      while (querying) {
        const r = await searchBytes(pipeline.base, probe);
        answers.push({ status: r.status, key: r.hits?.[0]?.key });
        await new Promise((res) => setTimeout(res, 50));
      }
    })();

    const logger = createLogger('test', 'warn');
    const handle = openRollout(pipeline.config, { redis: client, loadModel: (ref) => loadHashModel(ref, { logger }), logger });
    const rollout = handle.service;
    try {
      const begun = await rollout.begin('builtin:mobilenetv2-rp128');
      expect(begun.queued).toBe(initial.length);
      const during = await stats(pipeline.base);
      expect(during.rollout).toMatchObject({ generation: begun.generation, bits: 128 });
      expect(during.bits).toBe(64); // still served from the old index
      cpSync(path.join(SAMPLES, late), path.join(dir, late));
      await waitFor('the new object in the old index', async () => (await stats(pipeline.base)).indexed === photos.length);

      const done = await rollout.finish({ pollMs: 200, timeoutMs: 240_000 });
      expect(done).toMatchObject({ generation: begun.generation, retired: 'loupe' });
      expect(done.deletedKeys).toBeGreaterThan(0);
    } finally {
      querying = false;
      await load;
      await handle.close();
    }

    // Served from the new generation: every object, the one added during the rollout included.
    const after = await stats(pipeline.base);
    expect(after).toMatchObject({ bits: 128, indexed: photos.length, rollout: null });
    expect(after.generation).not.toBe('loupe');
    expect(await client.hget(GENERATIONS_KEY, 'active')).toBe(after.generation);
    for (const name of [initial[1], late]) {
      const r = await searchBytes(pipeline.base, readFileSync(path.join(SAMPLES, name)));
      expect(r.hits[0], name).toMatchObject({ key: name, granularity: 'global', distance: 0 });
    }
    // No downtime: every query during the rollout was answered, first by the right photo.
    expect(answers.length).toBeGreaterThan(5);
    expect(answers.filter((a) => a.status !== 200 || a.key !== initial[0])).toEqual([]);
    // The old index's keys are gone.
    expect(await client.keys('loupe:{s*')).toEqual([]);
  });
});
