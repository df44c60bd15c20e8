import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import {
  DEFAULT_VIEW_PLAN,
  ShardKeys,
  bytesToHex,
  createLogger,
  ensureIndexLayout,
  planViews,
  shardOf,
  type IndexJob,
  type IndexLayout,
} from '@loupe/shared';
import { IndexerService, ShardRepository, UnindexableJobError } from '@loupe/indexer';
import { startRedis, type TestRedis } from './support/redis-server.ts';

const layout: IndexLayout = { shards: 2, bits: 64, plan: DEFAULT_VIEW_PLAN, model: 'test-model' };

function job(key: string, etag: string, fill: number): Extract<IndexJob, { op: 'upsert' }> {
  return {
    op: 'upsert', key, etag, width: 640, height: 480, model: layout.model, bits: 64,
    views: planViews(DEFAULT_VIEW_PLAN, 640, 480).map((v) => ({
      ...v,
      code: bytesToHex(new Uint8Array(8).fill((fill + v.level * 16 + v.index) & 0xff)),
    })),
  };
}

describe('indexer against a real redis-server', () => {
  let server: TestRedis;
  let redis: Redis;
  let svc: IndexerService;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    await ensureIndexLayout(redis, layout);
    const repos = [0, 1].map((s) => new ShardRepository(redis, new ShardKeys(s)));
    svc = new IndexerService(layout, repos, createLogger('test', 'silent'));
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('assigns dense ids per shard and writes codes at the id slot', async () => {
    const keys = Array.from({ length: 10 }, (_, i) => `img/${i}.jpg`);
    for (const [i, k] of keys.entries()) await svc.handle(job(k, `e${i}`, i));
    for (const s of [0, 1]) {
      const sk = new ShardKeys(s);
      const mine = keys.filter((k) => shardOf(k, 2) === s);
      expect(Number(await redis.get(sk.nextId))).toBe(mine.length);
      for (const k of mine) {
        const id = Number(await redis.hget(sk.keyToId, k));
        expect(await redis.hget(sk.idToKey, String(id))).toBe(k);
        const i = keys.indexOf(k);
        // level 2, view 5 of object id: record id*9+5
        const rec = await redis.getrangeBuffer(sk.codes(2), (id * 9 + 5) * 8, (id * 9 + 5) * 8 + 7);
        expect(Array.from(rec)).toEqual(new Array(8).fill((i + 32 + 5) & 0xff));
        const dims = await redis.getrangeBuffer(sk.dims, id * 8, id * 8 + 7);
        expect([dims.readUInt32BE(0), dims.readUInt32BE(4)]).toEqual([640, 480]);
      }
    }
  });

  it('does not index a retried job twice and replaces a changed object in place', async () => {
    const first = await svc.handle(job('retry.jpg', 'v1', 1));
    const again = await svc.handle(job('retry.jpg', 'v1', 1));
    expect(again).toEqual({ ...first, outcome: 'unchanged' });
    const changed = await svc.handle(job('retry.jpg', 'v2', 99));
    expect(changed.op === 'upsert' && changed.outcome).toBe('replaced');
    expect(changed.op === 'upsert' && first.op === 'upsert' && changed.id === first.id).toBe(true);
    const sk = new ShardKeys(first.shard);
    const id = first.op === 'upsert' ? first.id : -1;
    const rec = await redis.getrangeBuffer(sk.codes(0), id * 8, id * 8 + 7);
    expect(rec[0]).toBe(99);
    const events = await redis.xrange(sk.changes, '-', '+');
    expect(events.filter(([, f]) => f[3] === String(id)).length).toBe(2);
  });

  it('tombstones a deleted key, ignores a repeated delete, and re-adds it under a new id', async () => {
    const a = await svc.handle(job('gone.jpg', 'v1', 3));
    const d = await svc.handle({ op: 'delete', key: 'gone.jpg' });
    const sk = new ShardKeys(a.shard);
    const id = a.op === 'upsert' ? a.id : -1;
    expect(d).toEqual({ op: 'delete', shard: a.shard, id });
    expect(await redis.getbit(sk.tombstones, id)).toBe(1);
    expect(await redis.hget(sk.keyToId, 'gone.jpg')).toBeNull();
    expect((await svc.handle({ op: 'delete', key: 'gone.jpg' })).id).toBeNull();
    const back = await svc.handle(job('gone.jpg', 'v1', 3));
    expect(back.op === 'upsert' && back.id !== id && back.outcome === 'created').toBe(true);
  });

  it('refuses codes that do not fit the index', async () => {
    await expect(svc.handle({ ...job('x.jpg', 'e', 0), model: 'other' })).rejects.toBeInstanceOf(UnindexableJobError);
    await expect(svc.handle({ ...job('x.jpg', 'e', 0), views: job('x.jpg', 'e', 0).views.slice(1) })).rejects.toThrow(/lacks/);
    const short = job('x.jpg', 'e', 0);
    short.views[0].code = 'abcd';
    await expect(svc.handle(short)).rejects.toThrow(/2 bytes/);
  });
});
