import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger, LoupeConfig } from '@loupe/shared';

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Makes sure Redis answers at REDIS_URL. When nothing answers on a local address, starts a
 * redis-server of our own with its data under LOUPE_DATA_DIR (AOF on, noeviction, as BullMQ's
 * production guide asks). Returns the child to stop on exit, or null when Redis was already up.
 */
export async function ensureLocalRedis(config: LoupeConfig, log: Logger): Promise<ChildProcess | null> {
  if (config.REDIS_CLUSTER_NODES || (await answers(config.REDIS_URL))) return null;
  const url = new URL(config.REDIS_URL);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(url.hostname)) {
    throw new Error(`no Redis answers at REDIS_URL=${config.REDIS_URL}`);
  }
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error(
      `no Redis answers at ${config.REDIS_URL} and no redis-server binary was found.\n` +
        '  Install one (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)\n' +
        '  or point REDIS_URL at a running Redis.',
    );
  }
  const dir = path.join(config.LOUPE_DATA_DIR, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = url.port || '6379';
  const child = spawn(
    'redis-server',
    ['--port', port, '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'],
    // Its own process group: Ctrl-C reaches the whole foreground group, and Redis must outlive the
    // services' drain (their last job updates), to be stopped after them.
    { stdio: 'ignore', detached: true },
  );
  for (let i = 0; i < 100; i++) {
    if (await answers(config.REDIS_URL)) {
      log.info({ port, dir, pid: child.pid }, 'started a local redis-server');
      return child;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`the redis-server started on port ${port} did not answer`);
}
