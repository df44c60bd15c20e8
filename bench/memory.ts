/**
 * Redis memory per indexed image: indexes N synthetic objects (64-bit codes, the default
 * 14-view plan, keys of ~40 bytes, S3-like etags) through the indexer's real ShardRepository (its
 * Lua scripts) into a fresh redis-server, and reports INFO used_memory delta / N against the raw
 * bytes (14 * 8 code bytes + key length). Target: <= 1.5x.
 *
 *   npm run bench:memory                    # N = 100,000 objects, 4 shards
 *   BENCH_N=20000 BENCH_SHARDS=2 npm run bench:memory
 *   BENCH_MODEL=default npm run bench:memory   # the default model's plan and code lengths instead
 *                                              # (e.g. 256-bit views, 64-bit cells)
 *
 * Prints a breakdown per key kind (MEMORY USAGE) and, last, one JSON line.
 */
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { DEFAULT_MODEL, DEFAULT_VIEW_PLAN, ShardKeys, ensureIndexLayout, levelCodeBytes, levelSizes, shippedArtifact, type IndexLayout } from '../packages/shared/src/index.ts';
import { ShardRepository } from '../services/indexer/src/repository/shard.repository.ts';
import { startRedis } from '../test/support/redis-server.ts';

const N = Number(process.env.BENCH_N ?? 100_000);
const SHARDS = Number(process.env.BENCH_SHARDS ?? 4);
const IN_FLIGHT = 256;
const model = process.env.BENCH_MODEL === 'default' ? (await shippedArtifact(DEFAULT_MODEL)).header : undefined;
const layout: IndexLayout = { shards: SHARDS, bits: model?.bits ?? 64, plan: model?.plan ?? DEFAULT_VIEW_PLAN, model: model?.id ?? 'bench-model' };
const sizes = levelSizes(layout);
/** Bytes of each level's codes for one object. */
const levelBytes = sizes.map((n, l) => n * levelCodeBytes(layout, l));
const codeTotal = levelBytes.reduce((a, b) => a + b, 0);
const views = sizes.reduce((a, b) => a + b, 0);

/** A key of exactly 40 bytes, shaped like a real bucket's (date folders, camera file name). */
function objectKey(i: number): string {
  const d = new Date(Date.UTC(2020, 0, 1) + (i % 1500) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '/');
  return `photos/${d}/IMG_${String(i).padStart(8, '0')}.jpg`.padEnd(40, '_').slice(0, 40);
}
const etag = (i: number) => `"${createHash('md5').update(String(i)).digest('hex')}"`;

function shardFor(key: string): number {
  // Same as shardOf (FNV-1a), inlined to keep the bench's import surface small.
  let h = 0x811c9dc5;
  for (const b of Buffer.from(key)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h % SHARDS;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function main() {
  const load = loadavg().map((x) => x.toFixed(2));
  console.log(`# Loupe Redis memory benchmark — ${N.toLocaleString()} objects, ${SHARDS} shards, ${views} views of ${layout.model} (${layout.bits}-bit codes, ${codeTotal} code bytes an image), 40-byte keys`);
  console.log(`load average at start: ${load.join(' ')} (2 cores shared with other processes)`);
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))![1];
    await ensureIndexLayout(redis, layout);
    const repos = Array.from({ length: SHARDS }, (_, s) => new ShardRepository(redis, new ShardKeys(s)));
    // Warm the script cache and the layout keys so the delta is the objects' own cost.
    await repos[0].upsert({ key: 'warm', etag: 'w', width: 1, height: 1, levels: levelBytes.map((n) => new Uint8Array(n)) });
    await repos[0].remove('warm');
    const before = await usedMemory(redis);
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      const rand = new Uint8Array(codeTotal);
      for (let i = next++; i < N; i = next++) {
        const key = objectKey(i);
        for (let j = 0; j < rand.length; j++) rand[j] = (Math.random() * 256) | 0;
        let at = 0;
        const levels = levelBytes.map((n) => rand.slice(at, (at += n)));
        await repos[shardFor(key)].upsert({ key, etag: etag(i), width: 4000, height: 3000, levels });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const writeS = (performance.now() - t0) / 1000;
    const after = await usedMemory(redis);

    const perImage = (after - before) / N;
    const raw = codeTotal + 40;
    const ratio = perImage / raw;
    console.log(`\nindexed ${N.toLocaleString()} objects in ${writeS.toFixed(1)} s (${Math.round(N / writeS)} objects/s, ${IN_FLIGHT} in flight), redis ${version}`);
    console.log(`used_memory delta      ${((after - before) / 2 ** 20).toFixed(1)} MiB`);
    console.log(`per indexed image      ${perImage.toFixed(1)} bytes`);
    console.log(`raw (codes + key)      ${raw} bytes (${codeTotal} + 40)`);
    console.log(`ratio                  ${ratio.toFixed(2)}x (target <= 1.5x)`);

    // Where it goes: MEMORY USAGE of every key of the shards, grouped by kind.
    const kinds = new Map<string, { keys: number; bytes: number; encodings: Set<string> }>();
    for (let s = 0; s < SHARDS; s++) {
      let cursor = '0';
      do {
        const [c, found] = await redis.scan(cursor, 'MATCH', `${new ShardKeys(s).tag}:*`, 'COUNT', 1000);
        cursor = c;
        for (const k of found) {
          const kind = k.slice(new ShardKeys(s).tag.length + 1).replace(/:\d+$/, ':<n>');
          const bytes = Number(await redis.memory('USAGE', k, 'SAMPLES', 0));
          const enc = String(await redis.object('ENCODING', k));
          const e = kinds.get(kind) ?? { keys: 0, bytes: 0, encodings: new Set() };
          e.keys++;
          e.bytes += bytes;
          e.encodings.add(enc);
          kinds.set(kind, e);
        }
      } while (cursor !== '0');
    }
    console.log(`\n${'key kind'.padEnd(16)} ${'keys'.padStart(7)} ${'bytes/image'.padStart(12)}  encoding`);
    const breakdown: Record<string, number> = {};
    for (const [kind, e] of [...kinds].sort((a, b) => b[1].bytes - a[1].bytes)) {
      breakdown[kind] = +(e.bytes / N).toFixed(1);
      console.log(`${kind.padEnd(16)} ${String(e.keys).padStart(7)} ${(e.bytes / N).toFixed(1).padStart(12)}  ${[...e.encodings].join(',')}`);
    }
    console.log(
      JSON.stringify({
        objects: N,
        shards: SHARDS,
        model: layout.model,
        bytes_per_image: +perImage.toFixed(1),
        raw_bytes_per_image: raw,
        ratio: +ratio.toFixed(3),
        target_ratio: 1.5,
        breakdown,
        redis_version: version,
        write_s: +writeS.toFixed(1),
        load_avg_start: load.map(Number),
        load_avg_end: loadavg().map((x) => +x.toFixed(2)),
      }),
    );
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

await main();
