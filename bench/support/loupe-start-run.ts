import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import {
  createQueue, ENCODER_HEARTBEAT_MS, liveEncoders, loadConfig, pendingJobs, PENDING_JOB_STATES, QueueNames, REPO_ROOT, type EncoderReport, type QueueName,
} from '@loupe/shared';
import { processTree, readProcesses } from '../../test/support/process-tree.ts';
import { freePort } from '../../test/support/redis-server.ts';
import { loadBenchPhotos } from './bench-photos.ts';

/**
 * Writes the data set's photos at ~`megapixels` into `dir`, then resized (70%) and cropped copies
 * of them in turn until there are `wanted`; returns how many it wrote.
 */
export async function writePhotoFolder(dir: string, wanted: number, megapixels: number): Promise<number> {
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

export interface LoupeStartRunOptions {
  /** The Redis to index into (it may already hold an index). */
  redis: { url: string; port: number };
  /** A folder of images, moved into the watched folder once every service is up, and back at the end. */
  staged: string;
  images: number;
  encoders: number;
  dataDir: string;
  /** More environment for `loupe start`. */
  env?: Record<string, string>;
  /** Queues besides loupe-index whose work must be done before the run ends; their last job ends its time too. */
  drained?: QueueName[];
  /** Wait for the encoders' next heartbeat and return their reports. */
  encoderReports?: boolean;
  /** Called with the query service's base URL once the images are indexed, before `loupe start` stops. */
  atEnd?: (queryBase: string) => Promise<void>;
}

export interface LoupeStartRun {
  images: number;
  /** From the first ingest job's creation to the last job's completion (index, and `drained`). */
  seconds: number;
  /** From the first ingest job's creation to the last index job's completion. */
  indexedS: number;
  imagesPerSecond: number;
  /** From `loupe start` to the query service ready and every encoder reporting. */
  startS: number;
  /** CPU ms per image of each service's processes (and Redis) while the images were indexed. */
  cpuMsPerImage: Record<string, number>;
  loadAvg: number;
  encoders: EncoderReport[];
}

/**
 * Indexes the staged folder through `loupe start` (real processes: ingest, N encoders, indexer,
 * query): start-up is not counted, as the images are moved into the watched folder once every
 * service is up. Times come from the queues' own records.
 */
export async function runLoupeStart(o: LoupeStartRunOptions): Promise<LoupeStartRun> {
  const port = await freePort();
  const folder = mkdtempSync(path.join(path.dirname(o.staged), 'watched-'));
  const env = {
    ...process.env,
    REDIS_URL: o.redis.url,
    LOUPE_SOURCE: `file://${folder}`,
    LOUPE_DATA_DIR: o.dataDir,
    LOUPE_QUERY_PORT: String(port),
    LOUPE_POLL_MS: '500',
    LOUPE_ENCODERS: String(o.encoders),
    LOUPE_LOG_LEVEL: 'warn',
    ...o.env,
  };
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/loupe.mjs'), 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const probe = new Redis(o.redis.url);
  const config = loadConfig(env);
  const queues = [QueueNames.ingest, QueueNames.index, ...(o.drained ?? [])].map((name) => createQueue(name, config, probe));
  const [ingest, ...finishing] = queues;
  try {
    const stats = () => fetch(`http://127.0.0.1:${port}/v1/stats`).then((r) => (r.ok ? r.json() : undefined), () => undefined);
    const alive = () => {
      if (child.exitCode !== null) throw new Error(`loupe start exited with ${child.exitCode}`);
    };
    // Up: the query service ready and every encoder reporting (models loaded).
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      alive();
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ready && (await liveEncoders(probe)).size === o.encoders) break;
    }
    const startS = (performance.now() - t0) / 1000;
    // The index may hold objects already: the run is done when it holds the staged images too.
    const before = await stats();
    if (!before) throw new Error('the query service answers no /v1/stats');
    const cpu0 = serviceCpu(child.pid!, o.redis.port);
    for (const f of readdirSync(o.staged)) renameSync(path.join(o.staged, f), path.join(folder, f));
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      alive();
      const s = await stats();
      if (!s || s.indexed + s.failed < before.indexed + before.failed + o.images || s.pending !== 0) continue;
      const counts = await Promise.all(finishing.map((q) => q.getJobCounts(...PENDING_JOB_STATES)));
      if (counts.some((c) => pendingJobs(c))) continue;
      if (s.failed > before.failed) process.stderr.write(`  ${s.failed - before.failed} objects dead-lettered\n`);
      break;
    }
    const cpu1 = serviceCpu(child.pid!, o.redis.port);
    const cpuMsPerImage = Object.fromEntries(Object.entries(cpu1).map(([name, t]) => [name, Math.round((1000 * (t - (cpu0[name] ?? 0))) / o.images)]));
    const loadAvg = os.loadavg()[0];
    const first = Math.min(...(await ingest.getJobs(['completed', 'failed'])).map((j) => j.timestamp));
    // finishing[0] is loupe-index.
    const lasts = await Promise.all(finishing.map(async (q) => Math.max(...(await q.getJobs(['completed'])).map((j) => j.finishedOn ?? 0))));
    const seconds = (Math.max(...lasts) - first) / 1000;
    const indexedS = (lasts[0] - first) / 1000;
    // The encoders' counters arrive with their next heartbeat (they are idle now: final).
    if (o.encoderReports) await new Promise((r) => setTimeout(r, ENCODER_HEARTBEAT_MS + 1000));
    const encoders = o.encoderReports ? [...(await liveEncoders(probe)).values()] : [];
    await o.atEnd?.(`http://127.0.0.1:${port}`);
    return { images: o.images, seconds, indexedS, imagesPerSecond: o.images / seconds, startS, cpuMsPerImage, loadAvg, encoders };
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    probe.disconnect();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    for (const f of readdirSync(folder)) renameSync(path.join(folder, f), path.join(o.staged, f));
    rmSync(folder, { recursive: true, force: true });
  }
}
