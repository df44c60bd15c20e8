import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { cachedOnnxBackbone, createLogger, runtimeOrder, type Logger, type LoupeConfig } from '@loupe/shared';
import { ensureLocalRedis } from './local-redis.ts';
import { warnUnlessNoEviction } from './preflight.ts';
import { IndexingProgress, type ProgressStats } from './indexing-progress.ts';
import { callQuery } from './query-client.ts';
import { SERVICES, type ServiceName } from './run-service.ts';
import { DRAIN_DEADLINE_MS, stopped, unlessStopped, within } from './stop-signals.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/**
 * `loupe start`: one process tree — Redis (when none answers), then one child per service, and
 * one encoder per core (LOUPE_ENCODERS): encoders scale by processes, each on one runtime thread.
 * A child that dies is restarted with backoff. `stop` (SIGINT/SIGTERM) stops the children gracefully,
 * then the Redis it started; exit code 0 when every one of them exited cleanly.
 */
export async function runStart(config: LoupeConfig, stop: AbortSignal): Promise<number> {
  const log = createLogger('start', config.LOUPE_LOG_LEVEL);
  // Bounded (10 s); a stop meanwhile stops this Redis below.
  const redis = await ensureLocalRedis(config, log);
  const children = new Map<string, ChildProcess>();
  const encoders = config.LOUPE_ENCODERS ?? availableParallelism();
  await unlessStopped(warnUnlessNoEviction(config, log), stop);
  // Convert the ONNX model once here rather than in every encoder at once.
  if (!stop.aborted && runtimeOrder(config.LOUPE_RUNTIME).includes('onnx')) {
    await unlessStopped(cachedOnnxBackbone(config.LOUPE_DATA_DIR, log).catch((e) => log.warn({ err: String(e) }, 'ONNX model conversion failed; the services will fall back')), stop);
  }

  const launch = (name: ServiceName, instance: string, attempt = 0) => {
    if (stop.aborted) return; // a restart due while stopping
    const child = spawn(process.execPath, [...process.execArgv, MAIN, name], { stdio: 'inherit', env: process.env });
    children.set(instance, child);
    child.on('exit', (code, signal) => {
      if (stop.aborted) return;
      const delay = Math.min(30_000, 1000 * 2 ** attempt);
      log.error({ service: instance, code, signal, restartInMs: delay }, 'service exited; restarting');
      setTimeout(() => launch(name, instance, attempt + 1), delay).unref();
    });
  };
  if (!stop.aborted) {
    log.info({ encoders, runtime: config.LOUPE_RUNTIME, threadsEach: config.LOUPE_RUNTIME_THREADS }, `starting ${encoders} encoder process${encoders === 1 ? '' : 'es'} (${config.LOUPE_ENCODERS ? 'LOUPE_ENCODERS' : 'one per core; LOUPE_ENCODERS to change'})`);
    for (const name of SERVICES) {
      if (name !== 'encoder') launch(name, name);
      else for (let i = 1; i <= encoders; i++) launch(name, `encoder-${i}`);
    }
    const base = `http://${config.LOUPE_QUERY_HOST}:${config.LOUPE_QUERY_PORT}`;
    void announceWhenReady(base, config, encoders, () => stop.aborted);
  }

  await stopped(stop);
  const t0 = Date.now();
  log.info({ signal: stop.reason }, 'stopping services');
  // Each service drains within DRAIN_DEADLINE_MS and exits; one that does not is killed. Redis goes last.
  const ends = await Promise.all([...children.entries()].map(([instance, child]) => endChild(child, instance, log)));
  if (redis) ends.push(await endChild(redis, 'redis', log));
  log.info({ ms: Date.now() - t0 }, 'stopped');
  return ends.every((clean) => clean) ? 0 : 1;
}

/** SIGTERM, then SIGKILL if it has not exited by a second past the drain deadline; whether it exited with code 0. */
async function endChild(child: ChildProcess, instance: string, log: Logger): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true; // exited before the stop (and is not restarted)
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  if (await within(exit, DRAIN_DEADLINE_MS + 1000)) {
    const code = await exit;
    if (code !== 0) log.error({ service: instance, code }, 'exited with an error while stopping');
    return code === 0;
  }
  log.error({ service: instance, pid: child.pid }, 'did not stop in time; killed');
  child.kill('SIGKILL');
  await exit;
  return false;
}

async function announceWhenReady(base: string, config: LoupeConfig, encoders: number, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  if (stopped()) return;
  // Double quotes: the shell expands $LOUPE_TOKEN (single quotes would send it literally).
  const auth = config.LOUPE_TOKEN ? ` -H "Authorization: Bearer $LOUPE_TOKEN"` : '';
  const stats = () => callQuery(config, '/v1/stats') as Promise<ProgressStats>;
  const s = await stats().catch(() => undefined);
  const counts = s ? `: ${s.indexed} indexed, ${s.pending} still to index, ${s.failed} failed` : '';
  process.stdout.write(
    `\nLoupe is up${counts}. Indexing ${config.LOUPE_SOURCE} with ${encoders} encoder process${encoders === 1 ? '' : 'es'}\n` +
      `  search:  curl -s -X POST --data-binary @samples/chelsea-cat.jpg -H 'Content-Type: image/jpeg'${auth} ${base}/v1/search\n` +
      `  stats:   curl -s${auth} ${base}/v1/stats\n` +
      `  or:      npx loupe search samples/chelsea-cat.jpg    npx loupe stats\n` +
      `  API docs: ${base}/docs\n\n`,
  );
  await new IndexingProgress(stats, process.stdout).run(stopped);
}
