import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '@loupe/shared';

/** A `loupe searcher` process started for a test or a benchmark. */
export interface SearcherProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Its registry id and the address routers reach it at. */
  readonly id: string;
  readonly address: string;
  /** JSON log lines it printed so far. */
  readonly logs: Record<string, unknown>[];
  /** SIGTERM, resolved once it exited (a clean stop: it leaves the registry first). */
  stop(): Promise<void>;
  /** SIGKILL, resolved once it exited (a crash: it stays in the registry until its registration expires). */
  kill(): Promise<void>;
}

/**
 * Starts `loupe searcher --shards <shards>` as its own Node process (no wrapper, so its pid is the
 * searcher's) on a free port, and resolves once it listens.
 */
export async function spawnSearcher(env: Record<string, string>, shards: string, timeoutMs = 60_000): Promise<SearcherProcess> {
  const main = path.join(REPO_ROOT, 'packages/cli/src/main.ts');
  // `--import tsx` resolves from the working directory: the repository's node_modules.
  const proc = spawn(process.execPath, ['--import', 'tsx', main, 'searcher', '--shards', shards], {
    cwd: REPO_ROOT,
    // Info at least: the "searcher listening" line says where it is.
    env: { ...process.env, LOUPE_LOG_FORMAT: 'json', LOUPE_SEARCHER_PORT: '0', ...env, LOUPE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const listening = new Promise<{ searcher: string; address: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`searcher ${shards} did not listen within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`searcher ${shards} exited (${code}) before listening: ${stderr}`));
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'searcher listening') {
        clearTimeout(timer);
        resolve(entry as unknown as { searcher: string; address: string });
      }
    });
  });
  const { searcher, address } = await listening;
  const end = async (signal: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await exited;
  };
  return { proc, pid: proc.pid!, id: searcher, address, logs, stop: () => end('SIGTERM'), kill: () => end('SIGKILL') };
}
