import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupKeys, REPO_ROOT } from '@loupe/shared';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { startPipeline, waitFor, type RunningPipeline } from './support/pipeline.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';

describe('duplicate groups turned off (LOUPE_DUPLICATE_GROUPS=false)', () => {
  let redis: TestRedis;
  let dir: string;
  let pipeline: RunningPipeline;
  let queues: TestQueues;

  beforeAll(async () => {
    const coffee = path.join(REPO_ROOT, 'samples', 'coffee.jpg');
    dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-groups-off-'));
    // A photo and its copy: grouped when the upkeep runs (duplicates.e2e.test.ts).
    writeFileSync(path.join(dir, 'original.jpg'), await sharp(coffee).jpeg({ quality: 95 }).toBuffer());
    writeFileSync(path.join(dir, 'copy.jpg'), await sharp(coffee).resize({ width: 400 }).jpeg({ quality: 85 }).toBuffer());
    redis = await startRedis();
    pipeline = await startPipeline({ REDIS_URL: redis.url, LOUPE_SOURCE: `file://${dir}`, LOUPE_SHARDS: '2', LOUPE_DUPLICATE_GROUPS: 'false' });
    queues = openQueues(pipeline.config);
    await waitFor('both files indexed', async () => (await (await fetch(`${pipeline.base}/v1/stats`)).json()).indexed === 2);
  }, 300_000);

  afterAll(async () => {
    await queues?.close();
    await pipeline?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('queues no group upkeep, writes no groups, and /v1/duplicates says the groups are off', async () => {
    const counts = await queues.groups.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(await queues.connection.exists(GroupKeys.objects, GroupKeys.groups)).toBe(0);
    for (const url of ['/v1/duplicates', '/v1/duplicates/copy.jpg']) {
      const res = await fetch(`${pipeline.base}${url}`);
      expect(res.status, url).toBe(404);
      expect((await res.json()).message).toContain('LOUPE_DUPLICATE_GROUPS=false');
    }
    // The search itself is unchanged: the copy finds the original.
    const hits = await (await fetch(`${pipeline.base}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'copy.jpg' }) })).json();
    expect(hits.hits.map((h: { key: string }) => h.key)).toContain('original.jpg');
  });
});
