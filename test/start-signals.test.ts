import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@loupe/shared';
import { alive, processTree, readProcesses } from './support/process-tree.ts';
import { waitFor } from './support/pipeline.ts';
import { freePort } from './support/redis-server.ts';

/** What a process manager does: SIGTERM to `npm start`, then nothing it started may be left. */
describe('npm start under a process manager', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'loupe-signals-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('stops every process it started, its own Redis included, within 10 s of SIGTERM', async () => {
    const [queryPort, redisPort] = [await freePort(), await freePort()];
    const npm = spawn('npm', ['start'], {
      cwd: REPO_ROOT,
      env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${redisPort}`, LOUPE_DATA_DIR: dataDir, LOUPE_QUERY_PORT: String(queryPort), LOUPE_POLL_MS: '0', LOUPE_LOG_LEVEL: 'warn', LOUPE_ENCODERS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let tree: number[] = [];
    npm.stdout.on('data', (d) => (out += d));
    npm.stderr.on('data', (d) => (out += d));
    try {
      await waitFor('Loupe is up', async () => out.includes('Loupe is up'), 120_000);
      const processes = readProcesses();
      tree = processTree(npm.pid!, processes);
      const names = tree.map((pid) => processes.get(pid)!.cmd.join(' '));
      // npm, the CLI wrapper, the supervisor, Redis and the four services (one encoder).
      expect(names.filter((n) => /main\.ts (ingest|encoder|indexer|query)/.test(n))).toHaveLength(4);
      expect(names.some((n) => n.includes(`redis-server 127.0.0.1:${redisPort}`))).toBe(true);
      const t0 = Date.now();
      npm.kill('SIGTERM');
      await waitFor('every process gone', async () => tree.every((pid) => !alive(pid)), 10_000);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      // What a failed stop left behind (orphans no longer sit under npm).
      for (const pid of new Set([...tree, ...processTree(npm.pid!)])) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
