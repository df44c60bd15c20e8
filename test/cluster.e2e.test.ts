import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { REPO_ROOT, ShardKeys, codeBytes, createLogger, createRedis, levelSizes, shardOf, SeededRandom } from '@loupe/shared';
import { SearcherPool } from '../services/query/src/searcher/index.ts';
import { startRedisCluster, type TestRedisCluster } from './support/redis-cluster.ts';
import { searchBytes, startPipeline, waitFor, type RunningPipeline } from './support/pipeline.ts';
import { ShardWriter, bruteForce, testLayout, waitFor as waitUntil } from './searcher-helpers.ts';

/**
 * The flow on a real 3-master Redis Cluster (redis-server processes on free ports, created with
 * redis-cli --cluster create): shards hash-tagged onto different nodes, indexer scripts, searcher
 * mirrors tailing each shard's stream on its node, then the whole pipeline on a folder of photos.
 */
const SHARDS = 4;
const layout = testLayout(SHARDS);
const cb = codeBytes(layout);
const sizes = levelSizes(layout);
const logger = createLogger('cluster-test', 'error');

let cluster: TestRedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
afterAll(async () => {
  await cluster?.stop();
});

/** The master node (port) serving each shard's hash tag. */
async function shardNodes(client: Cluster): Promise<number[]> {
  const slots = (await client.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  return Promise.all(
    Array.from({ length: SHARDS }, async (_, s) => {
      const slot = Number(await client.cluster('KEYSLOT', new ShardKeys(s).tag));
      const range = slots.find(([from, to]) => slot >= from && slot <= to)!;
      return range[2][1];
    }),
  );
}

describe('on a 3-master Redis Cluster', () => {
  it('indexes into shards spread over the nodes, and the searcher pool finds and follows them', async () => {
    const redis = createRedis({ REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodeList }) as Cluster;
    const pool = new SearcherPool({ logger, workers: 2, mihMinRecords: 64 });
    try {
      const nodes = await shardNodes(redis);
      expect(new Set(nodes).size).toBeGreaterThan(1);

      const rand = new SeededRandom(31);
      const writer = new ShardWriter(redis, layout, rand);
      await writer.init();
      for (let i = 0; i < 400; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => `c/${i + j}.jpg`).map((key) => writer.put(key, shardOf(key, SHARDS))));
      }
      for (const o of writer.live().filter((_, i) => i % 10 === 0)) await writer.remove(o.key);
      // Each shard's keys live on the node its tag hashes to, and only there.
      for (let s = 0; s < SHARDS; s++) {
        const owner = cluster.nodes.find((n) => n.port === nodes[s])!;
        const direct = new Redis(owner.url);
        expect(Number(await direct.get(new ShardKeys(s).nextId))).toBe(writer.live(s).length + [...writer.objects.values()].filter((o) => o.deleted && o.shard === s).length);
        direct.disconnect();
      }

      await pool.start({ REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodeList, LOUPE_QUERY_TIMEOUT_MS: 5000, LOUPE_LOG_LEVEL: 'error' });
      expect(await pool.waitReady(30_000)).toBe(true);
      const check = async () => {
        const all = [...writer.objects.values()];
        for (let i = 0; i < 12; i++) {
          const level = i % sizes.length;
          const o = writer.live()[rand.below(writer.live().length)];
          const code = rand.flipBits(o.levels[level].subarray(0, cb), i % 4);
          const q = { level, code, k: 8, maxDistance: i % 2 ? 6 : undefined };
          const res = await pool.search([q]);
          expect(res.shards).toEqual({ total: SHARDS, ok: SHARDS, failed: [] });
          const want = bruteForce(all, layout, level, code, q.k, q.maxDistance);
          expect(res.results[0].map((h) => ({ shard: h.shard, id: h.id, view: h.view, distance: h.distance, key: h.key }))).toEqual(
            want.map((h) => ({ ...h, key: all.find((o2) => o2.shard === h.shard && o2.id === h.id)!.key })),
          );
        }
      };
      await check();
      // Live writes reach the mirrors through XREAD BLOCK on each shard's node.
      const fresh = await writer.put('c/fresh.jpg', shardOf('c/fresh.jpg', SHARDS));
      await waitUntil('fresh object searchable', async () => (await pool.search([{ level: 0, code: fresh.levels[0], k: 1, maxDistance: 0 }])).results[0][0]?.key === 'c/fresh.jpg', 10_000);
      await writer.remove('c/fresh.jpg');
      await waitUntil('deleted object gone', async () => (await pool.search([{ level: 0, code: fresh.levels[0], k: 1, maxDistance: 0 }])).results[0].length === 0, 10_000);
      await check();
    } finally {
      await pool.close();
      redis.disconnect();
    }
  });

  describe('the whole pipeline (file:// source -> ingest -> encoder -> indexer -> query)', () => {
    const photos = ['coffee.jpg', 'chelsea-cat.jpg', 'astronaut.jpg', 'baboon.jpg'];
    let dir: string;
    let pipeline: RunningPipeline;

    beforeAll(async () => {
      // A fresh cluster: the index above was made with a test model's layout.
      for (const n of cluster.nodes) {
        const direct = new Redis(n.url);
        await direct.flushall();
        direct.disconnect();
      }
      dir = mkdtempSync(path.join(tmpdir(), 'loupe-cluster-photos-'));
      for (const p of photos) copyFileSync(path.join(REPO_ROOT, 'samples', p), path.join(dir, p));
      writeFileSync(path.join(dir, 'broken.jpg'), 'not an image'); // its dead letter is kept in one slot
      // REDIS_URL points nowhere: everything must go through the cluster.
      pipeline = await startPipeline({
        REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_URL: 'redis://127.0.0.1:1', LOUPE_SOURCE: `file://${dir}`, LOUPE_SHARDS: String(SHARDS),
      });
      await waitFor(
        'every photo indexed',
        async () => {
          const s = await (await fetch(`${pipeline.base}/v1/stats`)).json();
          return s.indexed === photos.length && s.failed === 1 && s.pending === 0 && s;
        },
        120_000,
      );
    });
    afterAll(async () => {
      await pipeline?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('finds each photo first, at distance 0, by its own bytes and by key', async () => {
      for (const p of photos) {
        const r = await searchBytes(pipeline.base, readFileSync(path.join(dir, p)));
        expect(r.status, p).toBe(200);
        expect(r.shards, p).toMatchObject({ total: SHARDS, ok: SHARDS });
        expect(r.hits[0], p).toMatchObject({ key: p, distance: 0 });
      }
      const byKey = await fetch(`${pipeline.base}/v1/search?k=2`, {
        method: 'POST', body: JSON.stringify({ key: photos[1] }), headers: { 'content-type': 'application/json' },
      });
      expect((await byKey.json()).hits[0]).toMatchObject({ key: photos[1], distance: 0 });
      // Queues, ingest state and index shards are spread over the nodes.
      const perNode = await Promise.all(
        cluster.nodes.map(async (n) => {
          const direct = new Redis(n.url);
          const keys = await direct.keys('*');
          direct.disconnect();
          return keys;
        }),
      );
      expect(perNode.filter((keys) => keys.some((k) => k.startsWith('loupe:{s'))).length).toBeGreaterThan(1);
      expect(perNode.flat().some((k) => k.startsWith('{bull:loupe-index}'))).toBe(true);
      const dead = await (await fetch(`${pipeline.base}/v1/dead`)).json();
      expect(dead.deadLetters.map((d: { key: string; reason: string }) => [d.key, d.reason.split(':')[0]])).toEqual([['broken.jpg', 'not-an-image']]);
    });
  });
});
