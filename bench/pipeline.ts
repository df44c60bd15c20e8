/**
 * The whole pipeline's throughput through `loupe start` (real processes: Redis, ingest, N
 * encoders, indexer, query), on a folder of real photos: the data sets' photos at ~1.5 MP, and
 * resized and cropped copies of them to reach LOUPE_BENCH_IMAGES (300). Each run gets a fresh
 * private Redis. The photos are moved into the watched folder once every service is up (models
 * loaded, searchers ready), so start-up is not counted: the time is from the first object
 * discovered (the first ingest job's creation) to the last one indexed (the last index job's
 * completion), read from the queues' own records. CPU seconds per service over that time come from
 * /proc (Linux).
 * Runs with 1 and 2 encoder processes (LOUPE_ENCODERS); the encoder-only rate is what the encoders
 * reported (their heartbeats: images and time spent in the model) in the same run — what the
 * pipeline would do if the encoders never waited or shared their cores.
 *
 *   npm run bench:pipeline
 *   env: LOUPE_DATASETS, LOUPE_BENCH_IMAGES (300), LOUPE_BENCH_MEGAPIXELS (1.5), LOUPE_BENCH_ENCODERS ("1,2")
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { createQueue, ENCODER_HEARTBEAT_MS, liveEncoders, loadConfig, QueueNames, REPO_ROOT } from '@loupe/shared';
import { processTree, readProcesses } from '../test/support/process-tree.ts';
import { freePort, startRedis } from '../test/support/redis-server.ts';
import { loadBenchPhotos } from './support/bench-photos.ts';

const wanted = Number(process.env.LOUPE_BENCH_IMAGES ?? 300);
const megapixels = Number(process.env.LOUPE_BENCH_MEGAPIXELS ?? 1.5);
const encoderCounts = (process.env.LOUPE_BENCH_ENCODERS ?? '1,2').split(',').map(Number);

/** The folder: each photo, then resized and cropped copies of them in turn until there are `wanted`. */
async function photoFolder(dir: string): Promise<number> {
  const photos = await loadBenchPhotos(Infinity, megapixels);
  const variants: ((s: sharp.Sharp, w: number, h: number) => sharp.Sharp)[] = [
    (s) => s,
    (s, w) => s.resize(Math.round(w * 0.7)),
    (s, w, h) => s.extract({ left: Math.round(w * 0.1), top: Math.round(h * 0.1), width: Math.round(w * 0.8), height: Math.round(h * 0.8) }),
    (s, w, h) => s.extract({ left: 0, top: Math.round(h * 0.3), width: Math.round(w * 0.6), height: Math.round(h * 0.6) }),
  ];
  let n = 0;
  for (let v = 0; n < wanted; v++) {
    for (const p of photos) {
      if (n >= wanted) break;
      const { width, height } = await sharp(p.bytes).metadata();
      const bytes = await variants[v % variants.length](sharp(p.bytes), width!, height!).jpeg({ quality: 90 }).toBuffer();
      writeFileSync(path.join(dir, `${String(n).padStart(4, '0')}-v${v}-${p.name.replace(/\.\w+$/, '')}.jpg`), bytes);
      n++;
    }
  }
  return n;
}

interface RunResult {
  encoders: number;
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** Sum over encoders of (images / time in the model): the rate if they never waited. */
  encoderOnlyImagesPerSecond: number;
  /** CPU ms per image of each service's processes (and Redis) while the photos were indexed. */
  cpuMsPerImage: Record<string, number>;
  loadAvg: number;
}

/** CPU seconds so far of each service under `loupe start` (its descendants, by service name) and of the Redis on `redisPort`. */
function serviceCpu(supervisor: number, redisPort: number): Record<string, number> {
  const processes = readProcesses();
  const services = new Set(processTree(supervisor, processes));
  const out: Record<string, number> = {};
  for (const [pid, p] of processes) {
    const last = p.cmd.at(-1) ?? '';
    const name = p.cmd[0]?.includes('redis-server') && p.cmd.join(' ').includes(`:${redisPort}`) ? 'redis' : services.has(pid) && /^[a-z]+$/.test(last) ? last : undefined;
    if (name) out[name] = (out[name] ?? 0) + p.cpuSeconds;
  }
  return out;
}

async function run(staged: string, images: number, encoders: number, dataDir: string): Promise<RunResult> {
  const redis = await startRedis();
  const port = await freePort();
  const folder = mkdtempSync(path.join(path.dirname(staged), 'watched-'));
  const env = {
    ...process.env,
    REDIS_URL: redis.url,
    LOUPE_SOURCE: `file://${folder}`,
    LOUPE_DATA_DIR: dataDir,
    LOUPE_QUERY_PORT: String(port),
    LOUPE_POLL_MS: '500',
    LOUPE_ENCODERS: String(encoders),
    LOUPE_LOG_LEVEL: 'warn',
  };
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/loupe.mjs'), 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const probe = new Redis(redis.url);
  try {
    const config = loadConfig(env);
    const stats = () => fetch(`http://127.0.0.1:${port}/v1/stats`).then((r) => (r.ok ? r.json() : undefined), () => undefined);
    // Up: the query service ready and every encoder reporting (models loaded).
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      if (child.exitCode !== null) throw new Error(`loupe start exited with ${child.exitCode}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ready && (await liveEncoders(probe)).size === encoders) break;
    }
    const cpu0 = serviceCpu(child.pid!, redis.port);
    for (const f of readdirSync(staged)) renameSync(path.join(staged, f), path.join(folder, f));
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      if (child.exitCode !== null) throw new Error(`loupe start exited with ${child.exitCode}`);
      const s = await stats();
      if (s && s.indexed + s.failed >= images && s.pending === 0) {
        if (s.failed) process.stderr.write(`  ${s.failed} objects dead-lettered\n`);
        break;
      }
    }
    const cpu1 = serviceCpu(child.pid!, redis.port);
    const cpuMsPerImage = Object.fromEntries(Object.entries(cpu1).map(([name, t]) => [name, Math.round((1000 * (t - (cpu0[name] ?? 0))) / images)]));
    const loadAvg = os.loadavg()[0];
    const [ingest, index] = [createQueue(QueueNames.ingest, config, probe), createQueue(QueueNames.index, config, probe)];
    const first = Math.min(...(await ingest.getJobs(['completed', 'failed'])).map((j) => j.timestamp));
    const last = Math.max(...(await index.getJobs(['completed'])).map((j) => j.finishedOn ?? 0));
    await Promise.all([ingest.close(), index.close()]);
    // The encoders' counters arrive with their next heartbeat (they are idle now: final).
    await new Promise((r) => setTimeout(r, ENCODER_HEARTBEAT_MS + 1000));
    const reports = [...(await liveEncoders(probe)).values()];
    if (reports.length !== encoders) throw new Error(`${reports.length} encoders reported, ${encoders} expected`);
    const seconds = (last - first) / 1000;
    return {
      encoders,
      images,
      seconds,
      imagesPerSecond: images / seconds,
      encoderOnlyImagesPerSecond: reports.reduce((s, r) => s + (1000 * r.images) / r.encodeMs, 0),
      cpuMsPerImage,
      loadAvg,
    };
  } finally {
    probe.disconnect();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    await redis.stop();
    for (const f of readdirSync(folder)) renameSync(path.join(folder, f), path.join(staged, f));
    rmSync(folder, { recursive: true, force: true });
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-pipeline-'));
try {
  const folder = path.join(tmp, 'photos');
  const dataDir = path.join(tmp, 'data');
  mkdirSync(folder);
  const images = await photoFolder(folder);
  console.log(`# pipeline: ${images} photos at ~${megapixels} MP (data set photos, resized and cropped copies) from a folder, \`loupe start\` on a private Redis, default model and runtime`);
  console.log(`load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (${os.availableParallelism()} cores)\n`);
  const results: RunResult[] = [];
  for (const n of encoderCounts) {
    const r = await run(folder, images, n, dataDir);
    results.push(r);
    console.log(`${n} encoder${n === 1 ? ' ' : 's'}: ${r.seconds.toFixed(1)} s, ${r.imagesPerSecond.toFixed(2)} images/s end to end; encoders alone ${r.encoderOnlyImagesPerSecond.toFixed(2)} images/s (pipeline ${(r.imagesPerSecond / r.encoderOnlyImagesPerSecond).toFixed(2)} of it); load average ${r.loadAvg.toFixed(2)}`);
    console.log(`  CPU ms an image: ${Object.entries(r.cpuMsPerImage).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const one = results.find((r) => r.encoders === 1);
  const two = results.find((r) => r.encoders === 2);
  const scaling = one && two ? two.imagesPerSecond / one.imagesPerSecond : undefined;
  if (scaling) console.log(`\nscaling 1 -> 2 encoders: ${scaling.toFixed(2)}x (target >= 1.7); pipeline / encoders alone with 2: ${(two!.imagesPerSecond / two!.encoderOnlyImagesPerSecond).toFixed(2)} (target >= 0.8)`);
  const round = (v: number | undefined) => (v === undefined ? undefined : Number(v.toFixed(2)));
  console.log(
    JSON.stringify({
      bench: 'pipeline',
      images,
      images_per_s_1_encoder: round(one?.imagesPerSecond),
      images_per_s_2_encoders: round(two?.imagesPerSecond),
      scaling: round(scaling),
      encoder_only_images_per_s: round(two?.encoderOnlyImagesPerSecond ?? one?.encoderOnlyImagesPerSecond),
      pipeline_vs_encoder_only: round(two ? two.imagesPerSecond / two.encoderOnlyImagesPerSecond : undefined),
      runs: results.map((r) => ({ ...r, seconds: round(r.seconds), imagesPerSecond: round(r.imagesPerSecond), encoderOnlyImagesPerSecond: round(r.encoderOnlyImagesPerSecond) })),
    }),
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
