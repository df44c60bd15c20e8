import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  /** The running redis-server (a new one after restart()). */
  readonly process: ChildProcess;
  stop(): Promise<void>;
  /** Starts it again after stop(), on the same port and data directory (an outage that ends). */
  restart(): Promise<void>;
}

/** Starts a private redis-server on a free port (never the shared 6379). */
export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'loupe-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const launch = async (): Promise<ChildProcess> => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--maxmemory-policy', 'noeviction', ...extraArgs],
      { stdio: 'ignore' },
    );
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // connection refused until the server is up
    for (let i = 0; ; i++) {
      try {
        await probe.connect();
        await probe.ping();
        break;
      } catch (e) {
        if (i > 100) throw new Error(`redis-server on ${port} did not start: ${String(e)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    probe.disconnect();
    return proc;
  };
  let proc = await launch();
  return {
    port,
    url,
    dir,
    get process() {
      return proc;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
    },
    async restart() {
      if (proc.exitCode === null && proc.signalCode === null) throw new Error('redis-server is still running: stop() it first');
      proc = await launch();
    },
  };
}
