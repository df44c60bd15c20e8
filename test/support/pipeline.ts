import { loadConfig, type LoupeConfig } from '@loupe/shared';
import { startIngest } from '@loupe/ingest';
import { startEncoder } from '@loupe/encoder';
import { startIndexer } from '@loupe/indexer';
import { startQuery } from '@loupe/query';
import { freePort } from './redis-server.ts';

export interface RunningPipeline {
  config: LoupeConfig;
  base: string;
  /** Runs one discovery pass over the source now (LOUPE_POLL_MS is 0 unless the env sets it). */
  discover(): Promise<unknown>;
  close(): Promise<void>;
}

/** Starts the four services in this process against the given environment. */
export async function startPipeline(env: Record<string, string>): Promise<RunningPipeline> {
  // The AWS SDK reads credentials from process.env, as it does in production.
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) if (env[k]) process.env[k] = env[k];
  const port = await freePort();
  const config = loadConfig({ LOUPE_LOG_LEVEL: 'warn', LOUPE_QUERY_PORT: String(port), LOUPE_POLL_MS: '0', ...env });
  const services = [await startIndexer(config), await startEncoder(config), await startQuery(config)];
  const ingest = await startIngest(config);
  services.push(ingest);
  return {
    config,
    base: `http://127.0.0.1:${port}`,
    discover: () => ingest.discoverOnce(),
    async close() {
      for (const s of services.reverse()) await s.close();
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function searchBytes(base: string, bytes: Uint8Array, qs = '', type = 'image/jpeg'): Promise<any> {
  const r = await fetch(`${base}/v1/search${qs}`, { method: 'POST', body: new Blob([bytes as Uint8Array<ArrayBuffer>]), headers: { 'content-type': type } });
  return { status: r.status, ...(await r.json()) };
}
