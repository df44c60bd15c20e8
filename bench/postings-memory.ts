/**
 * Quick experiment behind the "no MIH postings in Redis" decision (docs/benchmarks.md, Memory):
 * what multi-index-hashing postings would cost in Redis, per object, for the global level only
 * (one 64-bit code per object, 4 substrings of 16 bits), in three layouts:
 *   dense   a bitmap of ids per (part, value) (SETBIT), as ARCHITECTURE.md first sketched;
 *   sets    a Redis set of ids per (part, value) (intset encoding);
 *   packed  ids as packed u32 strings, 256 values per listpack hash (roaring-like chunks).
 *
 *   npx tsx bench/postings-memory.ts         # dense at 20k objects, sets and packed at 100k
 */
import { randomFillSync } from 'node:crypto';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { startRedis } from '../test/support/redis-server.ts';

const PARTS = 4;
const DENSE_N = Number(process.env.BENCH_DENSE_N ?? 20_000);
const N = Number(process.env.BENCH_N ?? 100_000);

async function used(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
}

function substrings(n: number): Uint16Array[] {
  const codes = randomFillSync(new Uint8Array(n * 8));
  return Array.from({ length: PARTS }, (_, p) => Uint16Array.from({ length: n }, (_, i) => (codes[i * 8 + 2 * p] << 8) | codes[i * 8 + 2 * p + 1]));
}

async function measure(redis: Redis, label: string, n: number, write: (values: Uint16Array[]) => Promise<void>) {
  await redis.flushall();
  const before = await used(redis);
  await write(substrings(n));
  const bytes = (await used(redis)) - before;
  const perObject = bytes / n;
  console.log(`${label.padEnd(8)} ${n.toLocaleString().padStart(8)} objects  ${(bytes / 2 ** 20).toFixed(1).padStart(8)} MiB  ${perObject.toFixed(1).padStart(8)} B/object  ${(perObject / 8).toFixed(1).padStart(6)}x the 8 code bytes`);
  return perObject;
}

async function flush(p: ReturnType<Redis['pipeline']>): Promise<void> {
  const res = await p.exec();
  for (const [err] of res ?? []) if (err) throw err;
}

const server = await startRedis();
const redis = new Redis(server.url);
console.log(`# MIH postings in Redis, global level only (1 x 64-bit code per object, ${PARTS} x 16-bit substrings); load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
try {
  const dense = await measure(redis, 'dense', DENSE_N, async (values) => {
    for (let p = 0; p < PARTS; p++) {
      for (let from = 0; from < DENSE_N; from += 5000) {
        const pipe = redis.pipeline();
        for (let id = from; id < Math.min(DENSE_N, from + 5000); id++) pipe.setbit(`mih:${p}:${values[p][id]}`, id, 1);
        await flush(pipe);
      }
    }
  });
  const sets = await measure(redis, 'sets', N, async (values) => {
    for (let p = 0; p < PARTS; p++) {
      for (let from = 0; from < N; from += 10_000) {
        const pipe = redis.pipeline();
        for (let id = from; id < Math.min(N, from + 10_000); id++) pipe.sadd(`mih:${p}:${values[p][id]}`, id);
        await flush(pipe);
      }
    }
  });
  const packed = await measure(redis, 'packed', N, async (values) => {
    for (let p = 0; p < PARTS; p++) {
      const lists = new Map<number, number[]>();
      values[p].forEach((v, id) => (lists.get(v) ?? lists.set(v, []).get(v)!).push(id));
      const pipe = redis.pipeline();
      for (const [v, ids] of lists) pipe.hset(`mih:${p}:${v >> 8}`, String(v & 255), Buffer.from(Uint32Array.from(ids).buffer));
      await flush(pipe);
    }
  });
  // Dense bitmaps grow with the largest id per value: ~ values x ids / 8 bytes once every value is used.
  console.log(`dense extrapolated to 1M objects (every value used, bitmaps ~ids/8 bytes): ${((PARTS * 65536 * (1e6 / 8)) / 2 ** 30).toFixed(1)} GiB`);
  console.log(JSON.stringify({ dense_objects: DENSE_N, dense_bytes_per_object: +dense.toFixed(1), objects: N, sets_bytes_per_object: +sets.toFixed(1), packed_bytes_per_object: +packed.toFixed(1) }));
} finally {
  redis.disconnect();
  await server.stop();
}
