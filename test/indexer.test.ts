import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import {
  DEFAULT_VIEW_PLAN,
  ShardKeys,
  bytesToHex,
  createLogger,
  ensureIndexLayout,
  keyFingerprint,
  lookupObjectId,
  objectKeysOf,
  pageSlot,
  planViews,
  shardOf,
  type IndexJob,
  type IndexLayout,
} from '@loupe/shared';
import { IndexerService, ShardRepository, UnindexableJobError } from '@loupe/indexer';
import { startRedis, type TestRedis } from './support/redis-server.ts';

const layout: IndexLayout = { shards: 2, bits: 64, plan: DEFAULT_VIEW_PLAN, model: 'test-model' };

/** Byte range of view `view` of object `id` at a level of `views` 8-byte codes (in its page). */
function recordAt(sk: ShardKeys, level: number, views: number, id: number, view: number): [string, number, number] {
  const { page, offset } = pageSlot(views * 8, id);
  return [sk.codes(level, page), offset + view * 8, offset + view * 8 + 7];
}

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
        const id = (await lookupObjectId(redis, sk, k))!;
        expect(id).not.toBeNull();
        expect(await objectKeysOf(redis, sk, [id])).toEqual([k]);
        const i = keys.indexOf(k);
        // level 2, view 5 of object id: record id*9+5
        const rec = await redis.getrangeBuffer(...recordAt(sk, 2, 9, id, 5));
        expect(Array.from(rec)).toEqual(new Array(8).fill((i + 32 + 5) & 0xff));
        const slot = pageSlot(8, id);
        const dims = await redis.getrangeBuffer(sk.dims(slot.page), slot.offset, slot.offset + 7);
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
    const id = first.op === 'upsert' ? first.id! : -1;
    const rec = await redis.getrangeBuffer(...recordAt(sk, 0, 1, id, 0));
    expect(rec[0]).toBe(99);
    const events = await redis.xrange(sk.changes, '-', '+');
    expect(events.filter(([, f]) => f[3] === String(id)).length).toBe(2);
  });

  it('tombstones a deleted key, ignores a repeated delete, and re-adds it under a new id', async () => {
    const a = await svc.handle(job('gone.jpg', 'v1', 3));
    const d = await svc.handle({ op: 'delete', key: 'gone.jpg' });
    const sk = new ShardKeys(a.shard);
    const id = a.op === 'upsert' ? a.id! : -1;
    expect(d).toEqual({ op: 'delete', shard: a.shard, id, outcome: 'deleted' });
    expect(await redis.getbit(sk.tombstones, id)).toBe(1);
    expect(await lookupObjectId(redis, sk, 'gone.jpg')).toBeNull();
    expect((await svc.handle({ op: 'delete', key: 'gone.jpg' })).id).toBeNull();
    const back = await svc.handle(job('gone.jpg', 'v1', 3));
    expect(back.op === 'upsert' && back.id !== id && back.outcome === 'created').toBe(true);
  });

  it('keeps the key <-> id maps exact across bucket splits and deletes, in small listpack values', async () => {
    const sk = new ShardKeys(7); // a shard of its own, written through the repository directly
    const repo = new ShardRepository(redis, sk);
    const levels = [new Uint8Array(8), new Uint8Array(32), new Uint8Array(72)];
    const keys = Array.from({ length: 3000 }, (_, i) => `bucket/split/${i}-${'x'.repeat(i % 30)}.jpg`);
    const ids = new Map<string, number>();
    for (let i = 0; i < keys.length; i += 200) {
      const batch = keys.slice(i, i + 200);
      const got = await Promise.all(batch.map((key) => repo.upsert({ key, etag: 'e1', width: 1, height: 1, levels })));
      batch.forEach((key, j) => ids.set(key, got[j].id!));
    }
    expect(new Set(ids.values()).size).toBe(keys.length);
    const gone = keys.filter((_, i) => i % 7 === 3);
    for (const key of gone) expect((await repo.remove(key)).id).toBe(ids.get(key));
    const state = await redis.hgetall(sk.keyMapState);
    expect(Number(state.n)).toBe(keys.length - gone.length);
    expect(Number(state.L)).toBeGreaterThan(4); // split many times
    for (const key of keys) expect(await repo.idOf(key)).toBe(gone.includes(key) ? null : ids.get(key));
    // id -> key stays for deleted ids too (their codes stay in place, tombstoned).
    const all = [...ids.values()];
    expect(await objectKeysOf(redis, sk, all)).toEqual(keys);
    // Every bucket and list is a compact listpack (no hashtable / plain quicklist).
    for (const k of [...(await redis.keys(`${sk.tag}:k2i:*`)), ...(await redis.keys(`${sk.tag}:i2k:*`))]) {
      const encoding = String(await redis.object('ENCODING', k));
      // Lists report 'quicklist' up to Redis 7.0 (one listpack node here), 'listpack' from 7.2.
      expect([k, encoding]).toEqual([k, k.includes(':k2i:') || encoding === 'listpack' ? 'listpack' : 'quicklist']);
      if (k.includes(':k2i:')) expect(await redis.hlen(k)).toBeLessThanOrEqual(128);
    }
    // A re-added key gets a new id; an unchanged retry keeps it.
    const back = await repo.upsert({ key: gone[0], etag: 'e1', width: 1, height: 1, levels });
    expect(back.outcome).toBe('created');
    expect(back.id).toBe(keys.length);
    expect((await repo.upsert({ key: gone[0], etag: 'e1', width: 1, height: 1, levels })).outcome).toBe('unchanged');
    expect((await repo.upsert({ key: gone[0], etag: 'e2', width: 1, height: 1, levels })).outcome).toBe('replaced');
  });

  it('maps a key whose fingerprint another key holds through the collision hash', async () => {
    const sk = new ShardKeys(8);
    const repo = new ShardRepository(redis, sk);
    const levels = [new Uint8Array(8), new Uint8Array(32), new Uint8Array(72)];
    const a = await repo.upsert({ key: 'a.jpg', etag: 'e', width: 1, height: 1, levels });
    // Pretend b.jpg's fingerprint belongs to a.jpg (one bucket while the shard is this small).
    await redis.hset(sk.keyBucket(0), keyFingerprint('b.jpg'), String(a.id));
    const b = await repo.upsert({ key: 'b.jpg', etag: 'e', width: 1, height: 1, levels });
    expect(b).toEqual({ id: a.id! + 1, outcome: 'created' });
    expect(await redis.hget(sk.keyCollisions, 'b.jpg')).toBe(String(b.id));
    expect(await repo.idOf('b.jpg')).toBe(b.id);
    expect(await repo.idOf('a.jpg')).toBe(a.id);
    expect((await repo.upsert({ key: 'b.jpg', etag: 'e', width: 1, height: 1, levels })).outcome).toBe('unchanged');
    expect((await repo.remove('b.jpg')).id).toBe(b.id);
    expect(await repo.idOf('b.jpg')).toBeNull();
    expect(await redis.hlen(sk.keyCollisions)).toBe(0);
    expect(await repo.idOf('a.jpg')).toBe(a.id);
  });

  it('refuses codes that do not fit the index', async () => {
    await expect(svc.handle({ ...job('x.jpg', 'e', 0), model: 'other' })).rejects.toBeInstanceOf(UnindexableJobError);
    await expect(svc.handle({ ...job('x.jpg', 'e', 0), views: job('x.jpg', 'e', 0).views.slice(1) })).rejects.toThrow(/lacks/);
    const short = job('x.jpg', 'e', 0);
    short.views[0].code = 'abcd';
    await expect(svc.handle(short)).rejects.toThrow(/2 bytes/);
  });
});
