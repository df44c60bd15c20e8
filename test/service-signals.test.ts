import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, REPO_ROOT } from '@loupe/shared';
import { isListing, startFaultyProxy } from './support/faulty-proxy.ts';
import { alive, processTree, readProcesses } from './support/process-tree.ts';
import { freePort, startRedis, type TestRedis } from './support/redis-server.ts';
import { startS3 } from './support/s3-server.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';

/**
 * SIGTERM (a process manager) and SIGINT (Ctrl-C: the terminal signals the whole process group)
 * to each service run alone, `node bin/loupe.mjs <service>`, and to `loupe start`: the process
 * tree is gone within 10 s, exit code 0, no job of the service is left active in Redis, and a
 * restarted service finishes the work. Real processes, Redis, source folder and CNN.
 */
type Stop = 'SIGTERM' | 'Ctrl-C';
const SAMPLES = readdirSync(path.join(REPO_ROOT, 'samples')).filter((f) => /\.(jpe?g|png)$/.test(f));
const COPIES = 2; // each sample under two keys: enough work to signal a service in the middle of it
const OBJECTS = SAMPLES.length * COPIES;

interface Run {
  child: ChildProcess;
  exit: Promise<number | null>;
  output(): string;
}

const runs: Run[] = [];

/** `node bin/loupe.mjs <args>` in its own process group (as a shell runs a foreground command). */
function loupe(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/loupe.mjs'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const run = { child, exit, output: () => out };
  runs.push(run);
  return run;
}

/** Sends the stop; resolves with how long until every process of the tree was gone, and the exit code. */
async function stop(run: Run, how: Stop): Promise<{ ms: number; code: number | null; commands: string[] }> {
  const processes = readProcesses();
  const tree = processTree(run.child.pid!, processes);
  const commands = tree.map((pid) => processes.get(pid)?.cmd.join(' ') ?? '');
  const t0 = Date.now();
  if (how === 'Ctrl-C') process.kill(-run.child.pid!, 'SIGINT');
  else run.child.kill('SIGTERM');
  try {
    while (tree.some(alive) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 5));
  } finally {
    for (const pid of tree) if (alive(pid)) process.kill(pid, 'SIGKILL'); // what a failed stop left
  }
  return { ms: Date.now() - t0, code: await run.exit, commands };
}

/** Polls fast (the in-flight window of a job can be short) until `probe` holds. */
async function until(what: string, probe: () => Promise<boolean>, run: Run, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`no ${what}:\n${run.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const counts = (q: Queue) => q.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed');

describe('each service under SIGTERM and SIGINT', () => {
  let redis: TestRedis;
  let queues: TestQueues;
  let env: Record<string, string>;
  const dirs: string[] = [];
  const stopTimes: Record<string, number> = {};
  const signalledMidJob: string[] = []; // the runs whose signal came while a job was active

  beforeAll(async () => {
    redis = await startRedis();
    const source = mkdtempSync(path.join(tmpdir(), 'loupe-signals-src-'));
    const dataDir = mkdtempSync(path.join(tmpdir(), 'loupe-signals-data-'));
    dirs.push(source, dataDir);
    for (let c = 0; c < COPIES; c++) {
      mkdirSync(path.join(source, `copy${c}`));
      for (const f of SAMPLES) copyFileSync(path.join(REPO_ROOT, 'samples', f), path.join(source, `copy${c}`, f));
    }
    env = {
      REDIS_URL: redis.url,
      LOUPE_SOURCE: `file://${source}`,
      LOUPE_DATA_DIR: dataDir, // shared: the ONNX model is converted once
      LOUPE_POLL_MS: '0',
      LOUPE_LOG_FORMAT: 'json',
      LOUPE_LOG_LEVEL: 'info',
      LOUPE_ENCODE_BATCH: '4',
      LOUPE_QUERY_WORKERS: '1',
      LOUPE_QUERY_PORT: String(await freePort()),
    };
    queues = openQueues(loadConfig({ REDIS_URL: redis.url }));
  });

  afterAll(async () => {
    // What a failed test left running (its own process group: vitest would not stop it).
    for (const run of runs) if (run.child.exitCode === null) for (const pid of processTree(run.child.pid!)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    console.log(`stop times (ms): ${JSON.stringify(stopTimes)}; signalled while a job was active: ${signalledMidJob.join(', ')}`);
    await queues?.close();
    await redis?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /**
   * Runs `service` three times over its queue's work: stopped by SIGTERM while jobs are active,
   * then by Ctrl-C while jobs are active, then left to finish. After each stop no job is active
   * and none failed: the ones in flight were finished (`inFlight: 'finished'`) or put back to
   * wait (ingest puts back a job that has not read its object yet), none lost.
   * `leavesWork`: its jobs are slow enough that some are always left for the next run.
   */
  async function drainAcrossStops(
    service: 'ingest' | 'encoder' | 'indexer',
    queue: () => Queue,
    total: number,
    { inFlight, leavesWork }: { inFlight: 'finished' | 'finished-or-put-back'; leavesWork: boolean },
  ): Promise<void> {
    for (const how of ['SIGTERM', 'Ctrl-C'] as const) {
      const run = loupe([service], env);
      // Signalled the moment its first job of this run is taken: that job, at least, is in flight.
      const done = (await counts(queue())).completed;
      let sawActive = false;
      await until(`${service} job taken`, async () => {
        const c = await counts(queue());
        sawActive ||= c.active > 0;
        return c.active > 0 || c.completed > done;
      }, run);
      const { ms, code } = await stop(run, how);
      stopTimes[`${service} ${how}`] = ms;
      const after = await counts(queue());
      if (sawActive) signalledMidJob.push(`${service} ${how}`);
      expect({ service, how, code, active: after.active, failed: after.failed }).toEqual({ service, how, code: 0, active: 0, failed: 0 });
      expect(ms).toBeLessThan(10_000);
      if (inFlight === 'finished') expect(after.completed).toBeGreaterThan(done);
      if (leavesWork) expect(after.completed, 'work left for the next run').toBeLessThan(total);
      expect(after.completed + after.waiting + after.delayed + after.prioritized).toBe(total);
    }
    const run = loupe([service], env);
    await until(`${service} finishing the work`, async () => (await counts(queue())).completed === total, run);
    const { ms, code } = await stop(run, 'SIGTERM');
    expect({ code, ms: ms < 10_000 }).toEqual({ code: 0, ms: true });
  }

  it('ingest drains its jobs, and a restarted ingest queues every object for the encoder', async () => {
    await drainAcrossStops('ingest', () => queues.ingest, OBJECTS, { inFlight: 'finished-or-put-back', leavesWork: true });
    expect((await counts(queues.encode)).waiting).toBe(OBJECTS);
  });

  it('an encoder stopped mid-batch finishes the batch; a restarted one encodes the rest', async () => {
    await drainAcrossStops('encoder', () => queues.encode, OBJECTS, { inFlight: 'finished', leavesWork: true });
    expect((await counts(queues.index)).waiting).toBe(OBJECTS);
  });

  it('the indexer drains its jobs, and a restarted indexer indexes the rest', async () => {
    // An index job takes milliseconds: the first run may index everything before the signal lands.
    await drainAcrossStops('indexer', () => queues.index, OBJECTS, { inFlight: 'finished', leavesWork: false });
  });

  it('an indexer stopped while its job waits for the index to exist hands the job back, no attempt spent', async () => {
    const empty = openQueues(loadConfig({ REDIS_URL: `${redis.url}/4` })); // no index layout here
    try {
      const job = await empty.index.add('index', { op: 'delete', key: 'waiting-for-the-index.jpg' });
      const run = loupe(['indexer'], { ...env, REDIS_URL: `${redis.url}/4` });
      await until('the job taken', async () => (await empty.index.getActiveCount()) > 0, run);
      const { ms, code } = await stop(run, 'SIGTERM');
      stopTimes['indexer before the index SIGTERM'] = ms;
      const after = await empty.index.getJob(job.id!);
      expect({ code, state: await after?.getState(), attemptsMade: after?.attemptsMade }).toEqual({ code: 0, state: 'delayed', attemptsMade: 0 });
      expect(ms).toBeLessThan(10_000);
    } finally {
      await empty.close();
    }
  });

  it('ingest stopped in the middle of a long listing ends the listing there', async () => {
    const s3 = await startS3();
    const proxy = await startFaultyProxy(s3.endpoint);
    try {
      s3.createBucket('big');
      await Promise.all(Array.from({ length: 60 }, (_, i) => s3.put('big', `notes/${i}.txt`, 'x')));
      // Pages of 5 keys, a second each: listing the bucket takes 12 s, as a large bucket takes minutes.
      let listings = 0;
      proxy.slowWhen = (req) => (isListing(req) ? (listings++, { delayMs: 1000, url: `${req.url}&max-keys=5` }) : null);
      const run = loupe(['ingest'], { ...env, ...s3.env, S3_ENDPOINT: proxy.url, LOUPE_SOURCE: 's3://big/', REDIS_URL: `${redis.url}/3` });
      await until('the listing under way', async () => listings >= 3, run); // preflight's page, then the pass's
      const { ms, code } = await stop(run, 'SIGTERM');
      stopTimes['ingest listing SIGTERM'] = ms;
      expect({ code, pagesAsked: listings < 6 }).toEqual({ code: 0, pagesAsked: true });
      expect(ms).toBeLessThan(10_000);
    } finally {
      await proxy.close();
      await s3.stop();
    }
  });

  it('a service stopped during start-up exits 0 at once (the query service waiting for a first index)', async () => {
    for (const how of ['SIGTERM', 'Ctrl-C'] as const) {
      const run = loupe(['query'], { ...env, REDIS_URL: `${redis.url}/7` }); // an empty database: no index
      await until('query waiting for the index', async () => run.output().includes('waiting for the index'), run);
      const { ms, code } = await stop(run, how);
      stopTimes[`query starting ${how}`] = ms;
      expect({ how, code, stopped: /stopped during start-up/.test(run.output()) }).toEqual({ how, code: 0, stopped: true });
      expect(ms).toBeLessThan(10_000);
    }
  });

  it('the query service answers the search in flight, then stops; it reports every object indexed', async () => {
    for (const how of ['SIGTERM', 'Ctrl-C'] as const) {
      const run = loupe(['query'], env);
      const base = `http://127.0.0.1:${env.LOUPE_QUERY_PORT}`;
      await until('query ready', async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, run);
      const stats = (await (await fetch(`${base}/v1/stats`)).json()) as { indexed: number };
      expect(stats.indexed).toBe(OBJECTS);
      const body = new Blob([readFileSync(path.join(REPO_ROOT, 'samples/chelsea-cat.jpg'))]);
      const search = fetch(`${base}/v1/search`, { method: 'POST', body, headers: { 'content-type': 'image/jpeg' } });
      await new Promise((r) => setTimeout(r, 50)); // the request is in, its encoding under way
      const { ms, code } = await stop(run, how);
      stopTimes[`query ${how}`] = ms;
      const answer = await search;
      const { hits } = (await answer.json()) as { hits: { key: string }[] };
      // `Connection: close`: answered after the stop began, so the search was in flight.
      expect({ how, code, status: answer.status, connection: answer.headers.get('connection'), top: hits[0]?.key }).toEqual({
        how, code: 0, status: 200, connection: 'close', top: expect.stringMatching(/chelsea-cat\.jpg$/),
      });
      expect(ms).toBeLessThan(10_000);
    }
  });

  it('loupe start stops every service and then the Redis it started, with no job left active', async () => {
    for (const how of ['SIGTERM', 'Ctrl-C'] as const) {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'loupe-signals-start-'));
      dirs.push(dataDir);
      // The ONNX model of the shared data directory: no conversion in this run.
      mkdirSync(path.join(dataDir, 'models'));
      for (const f of readdirSync(path.join(env.LOUPE_DATA_DIR, 'models'))) copyFileSync(path.join(env.LOUPE_DATA_DIR, 'models', f), path.join(dataDir, 'models', f));
      const redisPort = await freePort();
      const startEnv = { ...env, REDIS_URL: `redis://127.0.0.1:${redisPort}`, LOUPE_DATA_DIR: dataDir, LOUPE_ENCODERS: '1', LOUPE_QUERY_PORT: String(await freePort()) };
      const run = loupe(['start'], startEnv);
      const own = openQueues(loadConfig({ REDIS_URL: startEnv.REDIS_URL }));
      own.connection.on('error', () => {}); // refused until start has launched Redis, and again after the stop
      try {
        await until('an encode job in flight', async () => (await own.encode.getActiveCount().catch(() => 0)) > 0, run);
      } finally {
        own.connection.disconnect();
      }
      const { ms, code, commands } = await stop(run, how);
      stopTimes[`start ${how}`] = ms;
      // On a failure, the services' own last words say which one did not exit cleanly.
      expect({ how, code }, run.output().slice(-4000)).toEqual({ how, code: 0 });
      expect(ms).toBeLessThan(10_000);
      // All of them were in the tree that is now gone: its Redis and the four services (one encoder).
      expect(commands.filter((c) => /main\.ts (ingest|encoder|indexer|query)$/.test(c))).toHaveLength(4);
      expect(commands.some((c) => c.includes(`redis-server 127.0.0.1:${redisPort}`))).toBe(true);
      // Its Redis (append-only file under LOUPE_DATA_DIR/redis) kept what the services wrote while draining.
      const reopened = await startRedis(['--appendonly', 'yes', '--dir', path.join(dataDir, 'redis')]);
      const after = openQueues(loadConfig({ REDIS_URL: reopened.url }));
      try {
        const active = await Promise.all([after.ingest, after.encode, after.index].map((q) => q.getActiveCount()));
        expect({ how, active }).toEqual({ how, active: [0, 0, 0] });
        expect(await after.encode.getCompletedCount()).toBeGreaterThan(0);
      } finally {
        await after.close();
        await reopened.stop();
      }
    }
  });
});
