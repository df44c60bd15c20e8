/**
 * Helpers for the searcher tests: write objects through the indexer's ShardRepository (the real
 * Lua scripts), keep the expected state on the side, and brute-force the expected k-NN.
 */
import {
  DEFAULT_VIEW_PLAN,
  ShardKeys,
  codeBytes,
  ensureIndexLayout,
  hammingDistance,
  levelSizes,
  objectsPerPage,
  type IndexLayout,
  type RedisClient,
  type SeededRandom,
} from '@loupe/shared';
import { ShardRepository } from '../services/indexer/src/repository/shard.repository.ts';

export function testLayout(shards: number, bits = 64): IndexLayout {
  return { shards, bits, plan: DEFAULT_VIEW_PLAN, model: 'test-model' };
}

export interface ExpectedObject {
  key: string;
  id: number;
  shard: number;
  /** Per level: all the level's view codes concatenated. */
  levels: Uint8Array[];
  deleted: boolean;
  width: number;
  height: number;
}

/** Writes objects with the indexer's ShardRepository and remembers what Redis should hold. */
export class ShardWriter {
  readonly objects = new Map<string, ExpectedObject>();
  private readonly repos: ShardRepository[];
  private version = 0;

  constructor(
    private readonly redis: RedisClient,
    readonly layout: IndexLayout,
    private readonly rand: SeededRandom,
  ) {
    // A layout with a namespace is written into that index generation.
    const ns = layout.namespace;
    this.repos = Array.from({ length: layout.shards }, (_, s) => new ShardRepository(redis, new ShardKeys(s, ns)));
  }

  async init(): Promise<void> {
    await ensureIndexLayout(this.redis, this.layout);
  }

  randomLevels(): Uint8Array[] {
    const cb = codeBytes(this.layout);
    return levelSizes(this.layout).map((n) => this.rand.bytes(n * cb));
  }

  /** Creates or replaces `key` (in `shard`) with the given or random codes. */
  async put(key: string, shard: number, levels = this.randomLevels()): Promise<ExpectedObject> {
    const width = 100 + this.rand.below(1000);
    const height = 100 + this.rand.below(1000);
    const r = await this.repos[shard].upsert({ key, etag: `v${++this.version}`, width, height, levels });
    if (r.id === null) throw new Error(`${key}: upsert refused (${r.outcome})`);
    const obj = { key, id: r.id, shard, levels, deleted: false, width, height };
    this.objects.set(key, obj);
    return obj;
  }

  async remove(key: string): Promise<void> {
    const obj = this.objects.get(key)!;
    await this.repos[obj.shard].remove(key);
    obj.deleted = true;
    this.objects.delete(key);
    // Keep the deleted version under its id so the brute force can tell it must not come back.
    this.objects.set(`${key}#deleted#${obj.shard}#${obj.id}`, obj);
  }

  live(shard?: number): ExpectedObject[] {
    return [...this.objects.values()].filter((o) => !o.deleted && (shard === undefined || o.shard === shard));
  }
}

export interface ExpectedHit {
  shard: number;
  id: number;
  view: number;
  distance: number;
}

/** Best view per live object, sorted by (distance, shard, id), k at most. */
export function bruteForce(
  objects: ExpectedObject[],
  layout: IndexLayout,
  level: number,
  query: Uint8Array,
  k: number,
  maxDistance = Infinity,
): ExpectedHit[] {
  const cb = codeBytes(layout);
  const views = levelSizes(layout)[level];
  const hits: ExpectedHit[] = [];
  for (const o of objects) {
    if (o.deleted) continue;
    let best = { view: -1, distance: Infinity };
    for (let v = 0; v < views; v++) {
      const d = hammingDistance(o.levels[level].subarray(v * cb, (v + 1) * cb), query);
      if (d < best.distance) best = { view: v, distance: d };
    }
    if (best.distance <= maxDistance) hits.push({ shard: o.shard, id: o.id, ...best });
  }
  hits.sort((a, b) => a.distance - b.distance || a.shard - b.shard || a.id - b.id);
  return hits.slice(0, k);
}

/** Everything one shard holds in Redis, read directly (the truth a mirror must converge to). */
export async function readShard(redis: RedisClient, layout: IndexLayout, shard: number): Promise<ExpectedObject[]> {
  const keys = new ShardKeys(shard);
  const cb = codeBytes(layout);
  const sizes = levelSizes(layout);
  const ids = Number((await redis.get(keys.nextId)) ?? 0);
  // Each level's pages, concatenated: object id's records at id * objectBytes.
  const levels = await Promise.all(
    sizes.map(async (n, l) => {
      const pages = Math.ceil(ids / objectsPerPage(n * cb));
      const bufs = await Promise.all(Array.from({ length: pages }, (_, p) => redis.getBuffer(keys.codes(l, p))));
      return Buffer.concat(bufs.map((b) => (b ?? Buffer.alloc(0)).subarray(0, objectsPerPage(n * cb) * n * cb)));
    }),
  );
  const tomb = (await redis.getBuffer(keys.tombstones)) ?? Buffer.alloc(0);
  const out: ExpectedObject[] = [];
  for (let id = 0; id < ids; id++) {
    out.push({
      key: String(id),
      id,
      shard,
      levels: sizes.map((n, l) => new Uint8Array(levels[l]!.subarray(id * n * cb, (id + 1) * n * cb))),
      deleted: ((tomb[id >> 3] ?? 0) & (0x80 >> (id & 7))) !== 0,
      width: 0,
      height: 0,
    });
  }
  return out;
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
