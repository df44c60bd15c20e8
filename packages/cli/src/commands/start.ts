import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { cachedOnnxBackbone, createLogger, runtimeOrder, type LoupeConfig } from '@loupe/shared';
import { ensureLocalRedis } from './local-redis.ts';
import { warnUnlessNoEviction } from './preflight.ts';
import { IndexingProgress, type ProgressStats } from './indexing-progress.ts';
import { callQuery } from './query-client.ts';
import { SERVICES, type ServiceName } from './run-service.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/**
 * `loupe start`: one process tree — Redis (when none answers), then one child per service, and
 * one encoder per core (LOUPE_ENCODERS): encoders scale by processes, each on one runtime thread.
 * A child that dies is restarted with backoff; SIGINT/SIGTERM stops all children gracefully.
 */
export async function runStart(config: LoupeConfig): Promise<number> {
  const log = createLogger('start', config.LOUPE_LOG_LEVEL);
  const redis = await ensureLocalRedis(config, log);
  await warnUnlessNoEviction(config, log);
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const encoders = config.LOUPE_ENCODERS ?? availableParallelism();
  log.info({ encoders, runtime: config.LOUPE_RUNTIME, threadsEach: config.LOUPE_RUNTIME_THREADS }, `starting ${encoders} encoder process${encoders === 1 ? '' : 'es'} (${config.LOUPE_ENCODERS ? 'LOUPE_ENCODERS' : 'one per core; LOUPE_ENCODERS to change'})`);
  // Convert the ONNX model once here rather than in every encoder at once.
  if (runtimeOrder(config.LOUPE_RUNTIME).includes('onnx')) {
    await cachedOnnxBackbone(config.LOUPE_DATA_DIR, log).catch((e) => log.warn({ err: String(e) }, 'ONNX model conversion failed; the services will fall back'));
  }

  const launch = (name: ServiceName, instance: string, attempt = 0) => {
    const child = spawn(process.execPath, [...process.execArgv, MAIN, name], { stdio: 'inherit', env: process.env });
    children.set(instance, child);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      const delay = Math.min(30_000, 1000 * 2 ** attempt);
      log.error({ service: instance, code, signal, restartInMs: delay }, 'service exited; restarting');
      setTimeout(() => launch(name, instance, attempt + 1), delay).unref();
    });
  };
  for (const name of SERVICES) {
    if (name !== 'encoder') launch(name, name);
    else for (let i = 1; i <= encoders; i++) launch(name, `encoder-${i}`);
  }

  const base = `http://${config.LOUPE_QUERY_HOST}:${config.LOUPE_QUERY_PORT}`;
  void announceWhenReady(base, config, encoders, () => stopping);

  return new Promise((resolve) => {
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping services');
      await Promise.all(
        [...children.values()].map(
          (c) => new Promise<void>((r) => (c.exitCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGTERM')))),
        ),
      );
      if (redis) await new Promise<void>((r) => (redis.once('exit', () => r()), redis.kill('SIGTERM')));
      resolve(0);
    };
    // `on`, not `once`: a second signal while stopping must not kill this process before Redis is stopped.
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });
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
