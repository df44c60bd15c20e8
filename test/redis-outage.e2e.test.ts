import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, REPO_ROOT, type LoupeConfig } from '@loupe/shared';
import { startIngest } from '@loupe/ingest';
import { startEncoder } from '@loupe/encoder';
import { startIndexer } from '@loupe/indexer';
import { startQuery } from '@loupe/query';
import { freePort, startRedis, type TestRedis } from './support/redis-server.ts';
import { captureLogger, type CapturedLogs } from './support/capture-logger.ts';
import { waitFor } from './support/pipeline.ts';

const SAMPLES = path.join(REPO_ROOT, 'samples');
const INDEXED = ['coffee.jpg', 'rocket.jpg', 'chelsea-cat.jpg', 'astronaut.jpg', 'butterfly.jpg'];
const ARRIVES_DURING_OUTAGE = 'squirrel.jpg';
const SERVICES = ['ingest', 'encoder', 'indexer', 'query'] as const;

interface Answer {
  status: number;
  ms: number;
  retryAfter: string | null;
  body: any;
}

/**
 * Redis stops while queries run and comes back later (same port and data, as after a restart or
 * failover). Meanwhile image and code searches keep answering from the in-memory mirrors with
 * `stale: true`; searches by key and /v1/stats answer 503 with Retry-After at once; nothing
 * answers 500. The pipeline waits: an image added during the outage is indexed once Redis is back,
 * and each service logs the outage as one line when Redis is lost and one when it is back.
 */
describe('Redis outage (real redis-server stopped and restarted under a running pipeline)', () => {
  let redis: TestRedis;
  let dir: string;
  let config: LoupeConfig;
  let base: string;
  const logs = Object.fromEntries(SERVICES.map((s) => [s, captureLogger()])) as Record<(typeof SERVICES)[number], CapturedLogs>;
  const services: { close(): Promise<void> }[] = [];
  let crop: Buffer;

  const post = async (body: BodyInit, type: string): Promise<Answer> => {
    const t0 = performance.now();
    const r = await fetch(`${base}/v1/search`, { method: 'POST', body, headers: { 'content-type': type } });
    return { status: r.status, ms: performance.now() - t0, retryAfter: r.headers.get('retry-after'), body: await r.json() };
  };
  const get = async (route: string): Promise<Answer> => {
    const t0 = performance.now();
    const r = await fetch(`${base}${route}`);
    return { status: r.status, ms: performance.now() - t0, retryAfter: r.headers.get('retry-after'), body: await r.json() };
  };
  const image = (bytes: Buffer) => post(new Blob([new Uint8Array(bytes)]), 'image/jpeg');
  const byKey = (key: string) => post(JSON.stringify({ key }), 'application/json');
  const byCode = (hex: string) => post(JSON.stringify({ code: hex }), 'application/json');
  const sample = (f: string) => readFileSync(path.join(SAMPLES, f));

  beforeAll(async () => {
    // Appendonly: the restarted server has the index, queues and streams it had (a restart, not a wipe).
    redis = await startRedis(['--appendonly', 'yes']);
    dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-outage-'));
    for (const f of INDEXED) copyFileSync(path.join(SAMPLES, f), path.join(dir, f));
    const port = await freePort();
    config = loadConfig({ REDIS_URL: redis.url, LOUPE_SOURCE: `file://${dir}`, LOUPE_SHARDS: '2', LOUPE_QUERY_PORT: String(port), LOUPE_POLL_MS: '500', LOUPE_LOG_LEVEL: 'info' });
    base = `http://127.0.0.1:${port}`;
    services.push(await startIndexer(config, { logger: logs.indexer.logger }));
    services.push(await startEncoder(config, { logger: logs.encoder.logger }));
    services.push(await startQuery(config, { logger: logs.query.logger }));
    services.push(await startIngest(config, { logger: logs.ingest.logger }));
    await waitFor('the samples indexed', async () => {
      const s = (await get('/v1/stats')).body;
      return s.indexed === INDEXED.length && s.pending === 0;
    });
    await waitFor('mirrors loaded', async () => (await get('/readyz')).status === 200);
    const { width, height } = await sharp(path.join(SAMPLES, 'rocket.jpg')).metadata();
    crop = await sharp(path.join(SAMPLES, 'rocket.jpg'))
      .extract({ left: Math.round(width! * 0.3), top: Math.round(height! * 0.2), width: Math.round(width! * 0.5), height: Math.round(height! * 0.5) })
      .jpeg({ quality: 85 })
      .toBuffer();
  }, 300_000);

  afterAll(async () => {
    if (redis && redis.process.exitCode !== null) await redis.restart().catch(() => undefined);
    for (const s of services.reverse()) await s.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('checks 8 concurrent crop queries against the folder without ever calling the busy source unreadable', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => image(crop)));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body.hits[0].key).toBe('rocket.jpg');
      expect(a.body.stale).toBeUndefined();
    }
    expect(logs.query.lines.filter((l) => /source not readable|not readable from the source/.test(String(l.msg)))).toEqual([]);
  }, 120_000);

  it('answers from the mirrors while Redis is down, 503 with Retry-After for what needs Redis, and resumes when it is back', async () => {
    const zeroCode = '00'.repeat((await get('/v1/stats')).body.bits / 8);
    // Queries keep coming while Redis stops: none may answer 500 or hang.
    const during: Answer[] = [];
    let running = true;
    const load = (async () => {
      for (let i = 0; running; i++) {
        const kind = i % 3;
        during.push(await (kind === 0 ? image(sample('coffee.jpg')) : kind === 1 ? byCode(zeroCode) : byKey('coffee.jpg')));
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1500));
    running = false;
    await load;
    expect(during.filter((a) => a.status === 200 && a.body.stale === true).length).toBeGreaterThan(0);
    for (const a of during) {
      expect([200, 503]).toContain(a.status);
      expect(a.ms).toBeLessThan(5000);
    }

    // With Redis down: image and code searches answer from the mirrors, marked stale.
    const whole = await image(sample('coffee.jpg'));
    expect([whole.status, whole.body.stale, whole.body.hits[0].key]).toEqual([200, true, 'coffee.jpg']);
    const part = await image(crop);
    expect([part.status, part.body.stale, part.body.hits[0].key]).toEqual([200, true, 'rocket.jpg']);
    const code = await byCode(zeroCode);
    expect([code.status, code.body.stale, code.body.hits.length]).toEqual([200, true, INDEXED.length]);
    // What needs Redis answers 503 with Retry-After at once, with an error code and a message.
    for (const a of [await byKey('coffee.jpg'), await get('/v1/stats')]) {
      expect(a.status).toBe(503);
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
      expect(a.body).toEqual({ error: 'RedisUnavailableError', message: expect.stringMatching(/Redis is unreachable/) });
      expect(a.ms).toBeLessThan(3000);
    }
    const ready = await get('/readyz');
    expect([ready.status, ready.body.ready, ready.body.redis, ready.body.stale]).toEqual([200, true, 'down', true]);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^loupe_redis_up 0$/m);

    // An image arrives while Redis is down; the services keep trying to reach Redis for a while.
    copyFileSync(path.join(SAMPLES, ARRIVES_DURING_OUTAGE), path.join(dir, ARRIVES_DURING_OUTAGE));
    await new Promise((r) => setTimeout(r, 3000));
    await redis.restart();

    // Fresh answers again, and the image that arrived meanwhile is indexed and found.
    await waitFor('fresh answers', async () => {
      const a = await image(sample('coffee.jpg'));
      return a.status === 200 && a.body.stale === undefined && a.body.hits[0].key === 'coffee.jpg';
    }, 60_000);
    const arrived = await waitFor('the new image indexed', async () => {
      const a = await byKey(ARRIVES_DURING_OUTAGE);
      return a.status === 200 && a;
    }, 120_000);
    expect(arrived.body.hits[0]).toMatchObject({ key: ARRIVES_DURING_OUTAGE, distance: 0 });
    expect((await image(sample(ARRIVES_DURING_OUTAGE))).body.hits[0].key).toBe(ARRIVES_DURING_OUTAGE);
    const stats = await get('/v1/stats');
    expect([stats.status, stats.body.indexed, stats.body.failed]).toEqual([200, INDEXED.length + 1, 0]);
    expect((await get('/readyz')).body).toEqual({ ready: true, redis: 'up' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).not.toMatch(/status="500"/);

    // Each service logged the outage as two lines, and nothing at error level.
    for (const s of SERVICES) {
      expect([s, logs[s].events('redis-lost').length, logs[s].events('redis-back').length]).toEqual([s, 1, 1]);
      expect(logs[s].lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    }
  }, 300_000);
});
