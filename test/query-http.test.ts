import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEFAULT_VIEW_PLAN, ensureIndexLayout, loadConfig, loadHashModel } from '@loupe/shared';
import { startQuery } from '@loupe/query';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { waitFor } from './support/pipeline.ts';

const TOKEN = 'test-token-123';

describe('query RPC: auth, health, docs, metrics, input errors (real Redis, real model)', () => {
  let redis: TestRedis;
  let query: Awaited<ReturnType<typeof startQuery>>;
  let base: string;
  let zero: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    redis = await startRedis();
    const config = loadConfig({ REDIS_URL: redis.url, LOUPE_TOKEN: TOKEN, LOUPE_QUERY_PORT: '0', LOUPE_LOG_LEVEL: 'warn', LOUPE_SHARDS: '2' });
    const model = await loadHashModel(config.LOUPE_MODEL);
    zero = JSON.stringify({ code: '00'.repeat(model.bits / 8) });
    const probe = new Redis(redis.url);
    await ensureIndexLayout(probe, { shards: 2, bits: model.bits, plan: model.plan ?? DEFAULT_VIEW_PLAN, model: model.id });
    probe.disconnect();
    query = await startQuery(config);
    base = `http://127.0.0.1:${query.port}`;
  });
  afterAll(async () => {
    await query?.close();
    await redis?.stop();
  });

  it('needs the bearer token on /v1 when LOUPE_TOKEN is set, not on health checks', async () => {
    expect((await fetch(`${base}/v1/stats`)).status).toBe(401);
    expect((await fetch(`${base}/v1/stats`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(`${base}/v1/stats`, { headers: auth });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ indexed: 0, pending: 0, failed: 0, deleted: 0, shards: [{ shard: 0 }, { shard: 1 }] });
    // The scheme is case-insensitive, the token is not.
    expect((await fetch(`${base}/v1/stats`, { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${base}/v1/stats`, { headers: { authorization: `Bearer ${TOKEN.toUpperCase()}` } })).status).toBe(401);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await waitFor('searchers ready', async () => (await fetch(`${base}/readyz`)).status === 200, 30_000);
  });

  it('serves OpenAPI docs and Prometheus metrics', async () => {
    const spec = await (await fetch(`${base}/docs/json`)).json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/search', '/v1/stats']));
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/loupe_http_requests_total\{route="\/v1\/stats",status="401"\} 3/);
  });

  it('answers bad searches with 4xx and a message', async () => {
    const post = (body: BodyInit, type: string, qs = '') =>
      fetch(`${base}/v1/search${qs}`, { method: 'POST', body, headers: { ...auth, 'content-type': type } });
    const cases: [Promise<Response>, number][] = [
      [post('{"code":"abc"}', 'application/json'), 400],
      [post('{"code":"00ff"}', 'application/json'), 400],
      [post('{"nothing":1}', 'application/json'), 400],
      [post('{not json', 'application/json'), 400],
      [post('hello', 'text/plain'), 415],
      [post('just some words, not pixels', 'image/png'), 415],
      [post(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]), 'image/jpeg'), 400],
      [post(zero, 'application/json', '?granularity=sideways'), 400],
      [post(zero, 'application/json', '?maxDistance=9999'), 400],
    ];
    for (const [res, status] of cases) {
      const r = await res;
      const body = await r.json();
      expect([r.status, typeof body.message]).toEqual([status, 'string']);
      expect(body.error).not.toBe('Error'); // a code that says what went wrong
    }
    const both = await post(JSON.stringify({ key: 'a.jpg', code: '00' }), 'application/json');
    expect([both.status, await both.json()]).toEqual([400, { error: 'BadRequest', message: 'JSON body must have "key" or "code", not both' }]);
    const dot = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer();
    const tiny = await post(new Uint8Array(dot), 'image/png');
    expect([tiny.status, await tiny.json()]).toEqual([400, { error: 'too-small', message: '1x1 is too small to search (at least 8x8 pixels)' }]);
    const unknown = await post(JSON.stringify({ key: 'nowhere.jpg' }), 'application/json');
    expect([unknown.status, (await unknown.json()).error]).toEqual([404, 'NotFound']);
    const empty = await post(zero, 'application/json');
    expect(empty.status).toBe(200);
    expect((await empty.json()).hits).toEqual([]);
  });
});
