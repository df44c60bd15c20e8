import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ensureIndexLayout, loadConfig, readModelArtifact, REPO_ROOT } from '@loupe/shared';
import { startQuery } from '@loupe/query';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { waitFor } from './support/pipeline.ts';

/**
 * Image queries are encoded on the query service's encoding threads behind a bounded queue: a
 * burst beyond it is refused at once with 503 + Retry-After, and searches by code never wait
 * behind image encodes (real Redis, real model on ONNX Runtime).
 */
describe('query service under a burst of image queries (1 encoding thread, queue of 1)', () => {
  let redis: TestRedis;
  let query: Awaited<ReturnType<typeof startQuery>>;
  let base: string;
  let bits: number;
  const photo = readFileSync(path.join(REPO_ROOT, 'samples/coffee.jpg'));

  beforeAll(async () => {
    redis = await startRedis();
    const config = loadConfig({ REDIS_URL: redis.url, LOUPE_QUERY_PORT: '0', LOUPE_LOG_LEVEL: 'warn', LOUPE_SHARDS: '2', LOUPE_QUERY_WORKERS: '1', LOUPE_QUERY_QUEUE: '1' });
    const { header } = await readModelArtifact(config.LOUPE_MODEL);
    bits = header.bits;
    const probe = new Redis(redis.url);
    await ensureIndexLayout(probe, { shards: 2, bits, plan: header.plan, model: header.id, modelRef: config.LOUPE_MODEL });
    probe.disconnect();
    query = await startQuery(config);
    base = `http://127.0.0.1:${query.port}`;
    await waitFor('searchers ready', async () => (await fetch(`${base}/readyz`)).status === 200, 60_000);
    // Warm the encoding thread: its first forwards plan their shapes.
    const warm = await postImage();
    expect(warm.status).toBe(200);
    expect(warm.headers.get('server-timing')).toMatch(/^encode;dur=\d+(\.\d)?, search;dur=\d/);
  });
  afterAll(async () => {
    await query?.close();
    await redis?.stop();
  });

  const postImage = () => fetch(`${base}/v1/search`, { method: 'POST', body: photo, headers: { 'content-type': 'image/jpeg' } });

  it('answers what fits with 200, refuses the rest with 503 and Retry-After, and code searches do not wait', async () => {
    const started = performance.now();
    const images = Array.from({ length: 8 }, async () => {
      const r = await postImage();
      return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.json(), at: performance.now() - started };
    });
    // Sent while the burst is being encoded.
    const code = (async () => {
      const r = await fetch(`${base}/v1/search`, { method: 'POST', body: JSON.stringify({ code: '00'.repeat(bits / 8) }), headers: { 'content-type': 'application/json' } });
      return { status: r.status, at: performance.now() - started };
    })();
    const results = await Promise.all(images);
    const byCode = await code;
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 503);
    expect(ok.length + refused.length).toBe(8);
    expect(ok.length).toBeGreaterThanOrEqual(2); // the one encoding and the one queued
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expect(r.retryAfter).toBe('1');
      expect(r.body).toMatchObject({ error: 'QueryOverloadedError', message: expect.stringMatching(/saturated/) });
    }
    // Refusals are immediate; the code search came back before the last image query did.
    expect(Math.max(...refused.map((r) => r.at))).toBeLessThan(Math.max(...ok.map((r) => r.at)));
    expect(byCode.status).toBe(200);
    expect(byCode.at).toBeLessThan(Math.max(...ok.map((r) => r.at)));

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('loupe_inference_runtime_info{runtime="onnx"} 1');
    expect(metrics).toMatch(new RegExp(`loupe_search_overloaded_total ${refused.length}\\b`));
    const stats = await (await fetch(`${base}/v1/stats`)).json();
    expect(stats.runtime).toEqual({ query: 'onnx', encoders: {}, ffmpeg: 'unknown' });
  });
});
