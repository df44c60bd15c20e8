/**
 * The chaos run (`npm run chaos`): Loupe's services as separate processes index real images from
 * an S3 emulator bucket with event notifications on, while the run kill -9s services at random
 * moments, crashes Redis (AOF on) and starts it again, and injects resets, 2 s stalls and 5xx
 * through fault proxies in front of S3 and Redis. Meanwhile objects are added, deleted and
 * overwritten, and image and key queries run throughout. Once the faults stop it waits for the
 * pipeline to settle and checks the index against the bucket: every current object indexed once
 * with its current etag, deleted ones gone, no job left in a queue, no SQS message left, no query
 * answered with a 5xx other than 503.
 *
 *   npm run chaos -- [--seed N] [--objects 320] [--kills 12] [--redis-restarts 2] [--deletes 20]
 *                    [--overwrites 20] [--chaos-s 150] [--settle-s 300] [--encoders 1]
 *
 * Needs the robust benchmark's images (bench/datasets/robust-images.ts). The last line is one JSON
 * object; the exit code is 0 when lost, duplicates, stale_versions, undeleted, stuck_jobs and
 * query_5xx are all 0.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { SeededRandom } from '@loupe/shared';
import { freePort, startRedis } from '../../test/support/redis-server.ts';
import { startS3 } from '../../test/support/s3-server.ts';
import { BucketWithEvents } from './bucket-with-events.ts';
import { ChaosSchedule } from './chaos-schedule.ts';
import { loadImagePool } from './image-pool.ts';
import { auditIndex, auditIsClean, type IndexAudit } from './index-audit.ts';
import { startHttpFaultProxy } from './http-fault-proxy.ts';
import { QueryLoad } from './query-load.ts';
import { ServiceFleet } from './service-fleet.ts';
import { startTcpFaultProxy } from './tcp-fault-proxy.ts';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string' },
    objects: { type: 'string', default: '320' },
    kills: { type: 'string', default: '12' },
    'redis-restarts': { type: 'string', default: '2' },
    deletes: { type: 'string', default: '20' },
    overwrites: { type: 'string', default: '20' },
    'chaos-s': { type: 'string', default: '150' },
    'settle-s': { type: 'string', default: '300' },
    encoders: { type: 'string', default: '1' },
  },
});
const seed = Number(args.seed ?? Math.floor(Math.random() * 1e6));
const n = (name: keyof typeof args) => Number(args[name]);
const random = new SeededRandom(seed);
const t0 = Date.now();
const say = (line: string) => process.stderr.write(`[chaos ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

const pool = loadImagePool(n('objects') + n('overwrites'), random);
const runDir = mkdtempSync(path.join(tmpdir(), 'loupe-chaos-'));
say(`seed ${seed}; ${pool.length} images; service logs in ${runDir}`);

const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
const redisProxy = await startTcpFaultProxy(redis.port);
const s3 = await startS3();
const s3Proxy = await startHttpFaultProxy(s3.endpoint, () => random.next());
s3.createBucket('chaos');
const queue = s3.createQueue('chaos-events');
const bucket = new BucketWithEvents(s3, 'chaos', queue.queueUrl, random);
const db = new Redis(redis.url, { maxRetriesPerRequest: null });
db.on('error', () => undefined); // Redis is down on purpose now and then

const queryPort = await freePort();
const env = {
  ...process.env,
  ...s3.env,
  S3_ENDPOINT: s3Proxy.url,
  REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
  LOUPE_SOURCE: 's3://chaos/',
  LOUPE_EVENTS: queue.events,
  LOUPE_QUERY_PORT: String(queryPort),
  LOUPE_DATA_DIR: runDir,
  LOUPE_LOG_FORMAT: 'json',
  LOUPE_LOG_LEVEL: 'info',
};
const queueConfig = { REDIS_URL: redis.url, LOUPE_QUEUE_PREFIX: 'bull' };

// Half the objects are there before the services start (the first listing finds them), the rest
// arrive during the run, with the deletes and overwrites.
const firstHalf = Math.floor(n('objects') / 2);
const keyOf = (i: number) => `img/${String(i).padStart(4, '0')}${path.extname(pool[i].file)}`;
for (let i = 0; i < firstHalf; i++) await bucket.put(keyOf(i), pool[i].body);
say(`${firstHalf} objects in the bucket; starting the services`);

const fleet = new ServiceFleet(env, runDir);
for (const name of ['ingest', 'indexer', 'query']) fleet.add(name, [name]);
for (let e = 1; e <= n('encoders'); e++) fleet.add(`encoder-${e}`, ['encoder']);

const load = new QueryLoad(`http://127.0.0.1:${queryPort}`, random);
const keys = () => [...bucket.current.keys()];
load.start(
  () => {
    const image = pool[random.below(n('objects'))];
    return { body: image.body, type: image.type };
  },
  () => keys()[random.below(bucket.current.size)],
);

const deleted = new Set<string>();
const overwritten = new Set<string>();
/** A key the bucket holds that was neither deleted nor overwritten yet. */
const untouchedKey = () => {
  const candidates = keys().filter((k) => !deleted.has(k) && !overwritten.has(k));
  return candidates[random.below(candidates.length)];
};
const schedule = new ChaosSchedule(random, say);
const chaosMs = n('chaos-s') * 1000;
s3Proxy.rate = 0.05;
await schedule.run(chaosMs, {
  kills: { count: n('kills'), services: fleet.names, kill: (name) => fleet.kill(name) },
  redisRestarts: {
    count: n('redis-restarts'),
    restart: async (downMs) => {
      redis.process.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, downMs));
      await redis.restart();
    },
  },
  redisFaults: { everyMs: 3000, inject: (fault) => redisProxy.inject(fault, (k) => random.below(k)) },
  uploads: { count: n('objects') - firstHalf, upload: (i) => bucket.put(keyOf(firstHalf + i), pool[firstHalf + i].body) },
  deletes: {
    count: n('deletes'),
    remove: async () => {
      const key = untouchedKey();
      deleted.add(key);
      await bucket.remove(key);
    },
  },
  overwrites: {
    count: n('overwrites'),
    overwrite: async (i) => {
      const key = untouchedKey();
      overwritten.add(key);
      await bucket.put(key, pool[n('objects') + i].body);
    },
  },
});
s3Proxy.rate = 0;
say(`faults stopped: ${schedule.kills} kills, ${schedule.redisRestarts} Redis restarts; waiting for the pipeline to settle`);

let audit: IndexAudit | null = null;
let sqsLeft = 0;
for (const deadline = Date.now() + n('settle-s') * 1000; Date.now() < deadline; ) {
  await new Promise((r) => setTimeout(r, 3000));
  audit = await auditIndex(db, queueConfig, bucket.current);
  const depth = await s3.queueDepth(queue.queueUrl);
  sqsLeft = depth.waiting + depth.inFlight;
  if (auditIsClean(audit) && sqsLeft === 0) break;
}
await load.stop();
await fleet.stop();
audit ??= await auditIndex(db, queueConfig, bucket.current);

const faults = schedule.redisFaults + Object.values(s3Proxy.injected).reduce((a, b) => a + b, 0);
say(`queries by status ${JSON.stringify(load.tally.statuses)}; ${load.tally.refused} refused (query service down), ${load.tally.timedOut} unanswered in 10 s`);
say(`faults: Redis ${schedule.redisFaults} (resets and stalls), S3 ${JSON.stringify(s3Proxy.injected)}; ${bucket.duplicates} duplicated events`);
say(`service starts ${JSON.stringify(fleet.starts())}`);
for (const [what, list] of Object.entries({ lost: audit.lost, duplicates: audit.duplicates, stale: audit.staleVersions, undeleted: audit.undeleted })) {
  if (list.length) say(`${what}: ${list.slice(0, 10).join(', ')}${list.length > 10 ? ', ...' : ''}`);
}
for (const d of audit.deadLetters.slice(0, 10)) say(`dead letter ${d.key}: ${d.reason}`);

const result = {
  seed,
  objects: bucket.current.size,
  kills: schedule.kills,
  redis_restarts: schedule.redisRestarts,
  faults,
  lost: audit.lost.length,
  duplicates: audit.duplicates.length,
  stale_versions: audit.staleVersions.length,
  undeleted: audit.undeleted.length,
  stuck_jobs: audit.stuckJobs + sqsLeft,
  query_5xx: load.tally.serverErrors,
  queries: Object.values(load.tally.statuses).reduce((a, b) => a + b, 0),
  queries_refused: load.tally.refused,
  queries_timed_out: load.tally.timedOut,
  seconds: Math.round((Date.now() - t0) / 1000),
};
db.disconnect();
await Promise.all([redisProxy.close(), s3Proxy.close()]);
await Promise.all([redis.stop(), s3.stop()]);
process.stdout.write(JSON.stringify(result) + '\n');
const clean = [result.lost, result.duplicates, result.stale_versions, result.undeleted, result.stuck_jobs, result.query_5xx].every((v) => v === 0);
process.exit(clean ? 0 : 1);
