/**
 * Image-query latency through the HTTP API, on each inference runtime, and under load. The whole
 * pipeline (default model, ONNX Runtime) indexes samples/ from an S3 server over HTTP (fauxqs);
 * a second query service on the same index encodes its queries on TF.js wasm (LOUPE_RUNTIME=wasm).
 * Queries: for each sample a resized, recompressed copy and crops of 25% and 10% of its area (the
 * crops take the candidate check, which reads the candidates' images from the bucket).
 *  1. one client, the two services in alternation, query by query: request time (upload,
 *     decode, forwards, search, check); two passes, the second counted (the first plans the
 *     runtime's shapes and fills the thumbnail cache);
 *  2. 8 concurrent image clients on the ONNX service, with a key client searching by key all the
 *     while: the slowest image request, any 5xx other than the documented 503s (overloaded,
 *     partial), and the key searches' p99.
 *
 *   npm run bench:query
 *   env: LOUPE_QUERY_WORKERS, LOUPE_QUERY_RUNTIME_THREADS, LOUPE_QUERY_QUEUE (the services' defaults)
 *
 * Prints tables and, last, one JSON line.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../packages/shared/src/index.ts';
import { startQuery } from '../services/query/src/index.ts';
import { startPipeline, waitFor } from '../test/support/pipeline.ts';
import { freePort, startRedis } from '../test/support/redis-server.ts';
import { startS3 } from '../test/support/s3-server.ts';
import { SAMPLES, samplePhotos, sampleQueries } from './support/sample-queries.ts';

const photos = samplePhotos();
const BUCKET = 'bench';
const CLIENTS = 8;
const PER_CLIENT = 12;

async function search(base: string, body: Buffer | string, type: string): Promise<{ status: number; ms: number; top?: string; phases: Record<string, number> }> {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/search`, { method: 'POST', body: typeof body === 'string' ? body : new Blob([body as Uint8Array<ArrayBuffer>]), headers: { 'content-type': type } });
  const json = (await r.json()) as { hits?: { key: string }[] };
  // Server-Timing: encode (decode + forwards, queue wait included), search (fan-out, fusion), check.
  const phases = Object.fromEntries((r.headers.get('server-timing') ?? '').split(',').filter(Boolean).map((p) => {
    const [name, dur] = p.trim().split(';dur=');
    return [name, Number(dur)];
  }));
  return { status: r.status, ms: performance.now() - t0, top: json.hits?.[0]?.key, phases };
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
const round = (x: number) => Math.round(x * 10) / 10;

const redis = await startRedis();
const s3 = await startS3();
s3.createBucket(BUCKET);
for (const f of photos) await s3.put(BUCKET, f, readFileSync(path.join(SAMPLES, f)));
// The query encoding settings may be varied from the environment.
const tuning = Object.fromEntries(['LOUPE_QUERY_WORKERS', 'LOUPE_QUERY_RUNTIME_THREADS', 'LOUPE_QUERY_QUEUE'].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : [])));
const env = { ...s3.env, REDIS_URL: redis.url, LOUPE_SOURCE: `s3://${BUCKET}/`, LOUPE_SHARDS: '2', ...tuning };
const pipeline = await startPipeline(env);
const wasmPort = await freePort();
const wasm = await startQuery(loadConfig({ ...env, LOUPE_LOG_LEVEL: 'warn', LOUPE_QUERY_PORT: String(wasmPort), LOUPE_RUNTIME: 'wasm' }));
try {
  await waitFor('every sample indexed', async () => {
    const s = await (await fetch(`${pipeline.base}/v1/stats`)).json();
    return s.indexed === photos.length && s.pending === 0;
  });
  const queries = await sampleQueries(photos);
  const services = { onnx: pipeline.base, wasm: `http://127.0.0.1:${wasmPort}` };
  for (const [runtime, base] of Object.entries(services)) {
    const stats = await (await fetch(`${base}/v1/stats`)).json();
    if (stats.runtime.query !== runtime) throw new Error(`${base} encodes on ${stats.runtime.query}, expected ${runtime}`);
  }

  // 1. One client, alternating services query by query.
  const single: Record<string, { ms: number[]; byKind: Record<string, number[]>; phases: Record<string, number[]>; found: number }> = {};
  for (const runtime of Object.keys(services)) single[runtime] = { ms: [], byKind: {}, phases: {}, found: 0 };
  for (const pass of [0, 1])
    for (const q of queries)
      for (const [runtime, base] of Object.entries(services)) {
        const r = await search(base, q.bytes, 'image/jpeg');
        if (r.status !== 200) throw new Error(`${runtime}: status ${r.status} for ${q.kind} of ${q.name}`);
        if (pass === 0) continue;
        const t = single[runtime];
        t.ms.push(r.ms);
        (t.byKind[q.kind] ??= []).push(r.ms);
        for (const [phase, ms] of Object.entries(r.phases)) (t.phases[phase] ??= []).push(ms);
        if (r.top === q.name) t.found++;
      }
  const loadAfterSingle = loadavg()[0];

  // 2. Load: 8 image clients and a key client on the ONNX service.
  const statuses = new Map<number, number>();
  const imageMs: number[] = [];
  const keyMs: number[] = [];
  let loadDone = false;
  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = 0; i < PER_CLIENT; i++) {
      const q = queries[(c * PER_CLIENT + i * 7) % queries.length];
      const r = await search(services.onnx, q.bytes, 'image/jpeg');
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      imageMs.push(r.ms);
    }
  });
  const keys = (async () => {
    for (let i = 0; !loadDone; i++) {
      const r = await search(services.onnx, JSON.stringify({ key: photos[i % photos.length] }), 'application/json');
      if (r.status !== 200) throw new Error(`key search: status ${r.status}`);
      keyMs.push(r.ms);
      await new Promise((res) => setTimeout(res, 20));
    }
  })();
  await Promise.all(clients);
  loadDone = true;
  await keys;
  const other5xx = [...statuses].filter(([s]) => s >= 500 && s !== 503).reduce((n, [, c]) => n + c, 0);

  console.log(`# image queries: ${queries.length} (a 60% copy, a 25% and a 10% crop of each of the ${photos.length} samples, on S3 over HTTP), default model, 2 shards, settings ${JSON.stringify(tuning)}`);
  console.log(`load average after the single-client part: ${loadAfterSingle.toFixed(2)}, at the end: ${loadavg()[0].toFixed(2)} (2 cores)\n`);
  console.log('one client, request ms    p50     p90     p99     max   copy p50  crop-25 p50  crop-10 p50  found first');
  for (const [runtime, t] of Object.entries(single)) {
    const k = (kind: string) => quantile(t.byKind[kind], 0.5).toFixed(0).padStart(kind === 'copy' ? 9 : 12);
    console.log(
      `${runtime.padEnd(22)} ${[0.5, 0.9, 0.99, 1].map((q) => quantile(t.ms, q).toFixed(0).padStart(7)).join(' ')} ${k('copy')} ${k('crop-25')} ${k('crop-10')} ${`${t.found}/${queries.length}`.padStart(12)}`,
    );
  }
  for (const [runtime, t] of Object.entries(single)) {
    console.log(`  ${runtime} phases, median ms (Server-Timing): ${Object.entries(t.phases).map(([p, ms]) => `${p} ${quantile(ms, 0.5).toFixed(0)} (${ms.length} requests)`).join(', ')}`);
  }
  const ratio = quantile(single.wasm.ms, 0.5) / quantile(single.onnx.ms, 0.5);
  console.log(`\nwasm / onnx p50: ${ratio.toFixed(2)}x (targets with ONNX: p50 <= 150 ms, p99 <= 400 ms)`);
  console.log(`\n${CLIENTS} image clients x ${PER_CLIENT} queries on the ONNX service, key searches alongside:`);
  console.log(`  image requests: statuses ${JSON.stringify(Object.fromEntries(statuses))}, p50 ${quantile(imageMs, 0.5).toFixed(0)} ms, max ${Math.max(...imageMs).toFixed(0)} ms (target <= 5000, no 5xx but 503)`);
  console.log(`  key searches: ${keyMs.length}, p50 ${quantile(keyMs, 0.5).toFixed(1)} ms, p99 ${quantile(keyMs, 0.99).toFixed(1)} ms (target p99 <= 50)`);
  console.log(
    JSON.stringify({
      bench: 'query',
      queries: queries.length,
      onnx_p50_ms: round(quantile(single.onnx.ms, 0.5)),
      onnx_p99_ms: round(quantile(single.onnx.ms, 0.99)),
      wasm_p50_ms: round(quantile(single.wasm.ms, 0.5)),
      wasm_p99_ms: round(quantile(single.wasm.ms, 0.99)),
      onnx_phases_p50_ms: Object.fromEntries(Object.entries(single.onnx.phases).map(([p, ms]) => [p, round(quantile(ms, 0.5))])),
      onnx_found_first: single.onnx.found,
      wasm_found_first: single.wasm.found,
      concurrent_clients: CLIENTS,
      concurrent_max_ms: round(Math.max(...imageMs)),
      concurrent_p50_ms: round(quantile(imageMs, 0.5)),
      concurrent_statuses: Object.fromEntries(statuses),
      concurrent_5xx: other5xx,
      key_searches_under_load: keyMs.length,
      key_p99_ms_under_load: round(quantile(keyMs, 0.99)),
      load_avg_end: +loadavg()[0].toFixed(2),
    }),
  );
} finally {
  await wasm.close();
  await pipeline.close();
  await s3.stop();
  await redis.stop();
}
process.exit(0);
