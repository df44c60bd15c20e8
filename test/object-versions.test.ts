import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import {
  bytesToHex,
  DELETED_KEY_TTL_MS,
  DEFAULT_VIEW_PLAN,
  ensureIndexLayout,
  pageSlot,
  planViews,
  ShardKeys,
  shardOf,
  type IndexJob,
  type IndexLayout,
} from '@loupe/shared';
import { IndexerService, ShardRepository } from '@loupe/indexer';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { captureLogger } from './support/capture-logger.ts';
import { heldObject, holds } from './support/index-probe.ts';

const layout: IndexLayout = { shards: 2, bits: 64, plan: DEFAULT_VIEW_PLAN, model: 'test-model', namespace: 'loupe' };

/** An upsert whose every code byte is `fill`, at `version` (none: an old, unversioned job). */
function upsert(key: string, etag: string, fill: number, version?: number): Extract<IndexJob, { op: 'upsert' }> {
  return {
    op: 'upsert', key, etag, width: 640, height: 480, model: layout.model, bits: 64,
    views: planViews(DEFAULT_VIEW_PLAN, 640, 480).map((v) => ({ ...v, code: bytesToHex(new Uint8Array(8).fill(fill)) })),
    ...(version === undefined ? {} : { version }),
  };
}

const del = (key: string, version?: number): IndexJob => ({ op: 'delete', key, ...(version === undefined ? {} : { version }) });

describe('object versions in the index (real redis-server)', () => {
  let server: TestRedis;
  let redis: Redis;
  let svc: IndexerService;
  const logs = captureLogger('debug');

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    await ensureIndexLayout(redis, layout);
    svc = new IndexerService(layout, [0, 1].map((s) => new ShardRepository(redis, new ShardKeys(s))), logs.logger);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  const held = (key: string) => heldObject(redis, 'loupe', 2, key);
  const keysOf = (key: string) => new ShardKeys(shardOf(key, 2));
  /** First byte of the key's global code. */
  const globalCode = async (key: string) => {
    const h = (await held(key))!;
    const { page, offset } = pageSlot(8, h.id);
    return (await redis.getrangeBuffer(keysOf(key).codes(0, page), offset, offset))[0];
  };
  const staleCount = async (key: string) => Number((await redis.hget(keysOf(key).counters, 'stale')) ?? 0);

  it('keeps the newer version when two finish out of order, and logs and counts the refusal', async () => {
    const key = 'race/a.jpg';
    const changes = keysOf(key).changes;
    expect(await svc.handle(upsert(key, 'e2', 22, 2000))).toMatchObject({ op: 'upsert', outcome: 'created' });
    const streamBefore = await redis.xlen(changes);
    const late = await svc.handle(upsert(key, 'e1', 11, 1000));
    expect(late).toMatchObject({ op: 'upsert', outcome: 'stale', held: 2000 });
    expect(holds(await held(key), 'e2', 2000)).toBe(true);
    expect(await globalCode(key)).toBe(22);
    expect(await staleCount(key)).toBe(1);
    expect(await redis.xlen(changes)).toBe(streamBefore); // searchers see nothing
    expect(logs.events('stale-write').at(-1)).toMatchObject({ op: 'upsert', key, etag: 'e1', version: 1000, held: 2000, generation: 'loupe', level: 30 });

    // In order, the newer one replaces the older in place.
    const next = await svc.handle(upsert(key, 'e3', 33, 3000));
    expect(next).toMatchObject({ outcome: 'replaced', id: (await held(key))!.id });
    expect(holds(await held(key), 'e3', 3000)).toBe(true);
    expect(await globalCode(key)).toBe(33);
  });

  it('keeps a deleted object deleted when an older version is indexed late', async () => {
    const key = 'race/deleted.jpg';
    const first = await svc.handle(upsert(key, 'e1', 1, 100));
    expect(await svc.handle(del(key, 300))).toMatchObject({ outcome: 'deleted', id: first.id });
    expect(await svc.handle(upsert(key, 'e2', 2, 200))).toEqual({ op: 'upsert', shard: first.shard, id: null, outcome: 'stale', held: 300 });
    expect(await held(key)).toBeNull();
    expect(await redis.getbit(keysOf(key).tombstones, first.id!)).toBe(1);
    // The deleted key's record expires on its own.
    const ttl = await redis.pttl(keysOf(key).deletedKey(key));
    expect(ttl).toBeGreaterThan(DELETED_KEY_TTL_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(DELETED_KEY_TTL_MS);

    // A newer version brings it back under a new id, and its record goes.
    const back = await svc.handle(upsert(key, 'e4', 4, 400));
    expect(back).toMatchObject({ outcome: 'created' });
    expect(back.id).not.toBe(first.id);
    expect(holds(await held(key), 'e4', 400)).toBe(true);
    expect(await redis.exists(keysOf(key).deletedKey(key))).toBe(0);
  });

  it('refuses an older upsert after a delete that overtook it, before the key was ever indexed', async () => {
    const key = 'race/never-indexed.jpg';
    expect(await svc.handle(del(key, 500))).toMatchObject({ outcome: 'absent', id: null });
    expect(await svc.handle(upsert(key, 'e1', 1, 400))).toMatchObject({ outcome: 'stale', id: null, held: 500 });
    expect(await held(key)).toBeNull();
    // An older delete arriving later does not lower the record.
    await svc.handle(del(key, 450));
    expect(await svc.handle(upsert(key, 'e1', 1, 480))).toMatchObject({ outcome: 'stale', held: 500 });
  });

  it('refuses a delete older than the indexed version', async () => {
    const key = 'race/kept.jpg';
    await svc.handle(upsert(key, 'e2', 2, 700));
    expect(await svc.handle(del(key, 600))).toMatchObject({ op: 'delete', outcome: 'stale', held: 700 });
    expect(holds(await held(key), 'e2', 700)).toBe(true);
    expect(logs.events('stale-write').at(-1)).toMatchObject({ op: 'delete', key, version: 600, held: 700 });
  });

  it('lets bytes that come back (A -> B -> A) win over a late B', async () => {
    const key = 'race/aba.jpg';
    await svc.handle(upsert(key, 'A', 1, 10));
    // The same bytes seen again at a later pass: nothing to rewrite, but the version moves on.
    expect(await svc.handle(upsert(key, 'A', 1, 30))).toMatchObject({ outcome: 'unchanged' });
    expect(holds(await held(key), 'A', 30)).toBe(true);
    expect(await svc.handle(upsert(key, 'B', 2, 20))).toMatchObject({ outcome: 'stale', held: 30 });
    expect(await globalCode(key)).toBe(1);
    // A retried job of the held version is a plain no-op.
    expect(await svc.handle(upsert(key, 'A', 1, 30))).toMatchObject({ outcome: 'unchanged' });
  });

  it('treats jobs without a version as the oldest, accepted while nothing versioned is held', async () => {
    const key = 'race/legacy.jpg';
    expect(await svc.handle(upsert(key, 'old1', 1))).toMatchObject({ outcome: 'created' });
    expect(await svc.handle(upsert(key, 'old2', 2))).toMatchObject({ outcome: 'replaced' }); // as before versions
    expect(holds(await held(key), 'old2', 0)).toBe(true);
    expect(await svc.handle(upsert(key, 'new', 3, 50))).toMatchObject({ outcome: 'replaced' });
    expect(await svc.handle(upsert(key, 'old3', 4))).toMatchObject({ outcome: 'stale', held: 50 });
    expect(await svc.handle(del(key))).toMatchObject({ outcome: 'stale', held: 50 });
    expect(holds(await held(key), 'new', 50)).toBe(true);
    // An unversioned delete of a legacy object works as it always did, and leaves no record.
    const other = 'race/legacy-deleted.jpg';
    await svc.handle(upsert(other, 'x', 1));
    expect(await svc.handle(del(other))).toMatchObject({ outcome: 'deleted' });
    expect(await redis.exists(keysOf(other).deletedKey(other))).toBe(0);
  });

  it('forgets a delete after its time to live', async () => {
    const sk = new ShardKeys(5);
    const repo = new ShardRepository(redis, sk, 150);
    const levels = [new Uint8Array(8), new Uint8Array(32), new Uint8Array(72)];
    await repo.upsert({ key: 'k.jpg', etag: 'e1', width: 1, height: 1, levels, version: 1 });
    expect(await repo.remove('k.jpg', 3)).toMatchObject({ outcome: 'deleted' });
    expect(await repo.upsert({ key: 'k.jpg', etag: 'e2', width: 1, height: 1, levels, version: 2 })).toMatchObject({ outcome: 'stale' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await redis.exists(sk.deletedKey('k.jpg'))).toBe(0);
    expect(await repo.upsert({ key: 'k.jpg', etag: 'e2', width: 1, height: 1, levels, version: 2 })).toMatchObject({ outcome: 'created' });
    expect((await repo.counters()).stale).toBe(1);
  });
});
