import sharp from 'sharp';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEFAULT_VIEW_PLAN, GroupKeys, SeededRandom, loadConfig, loadHashModel } from '@loupe/shared';
import { startQuery } from '@loupe/query';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { waitFor } from './support/pipeline.ts';
import { ShardWriter } from './searcher-helpers.ts';

const TOKEN = 'openapi-token';
const MAX_BYTES = 64 * 1024;

type Schema = Record<string, unknown>;

/**
 * A copy of a response schema in which every object lists all it may hold: a field the server sends
 * but the document does not name fails validation, as does a missing required one.
 */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Schema = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)]));
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

describe('OpenAPI document: every answer of the RPC matches it (real Redis, real model)', () => {
  let redis: TestRedis;
  let query: Awaited<ReturnType<typeof startQuery>>;
  let base: string;
  let doc: any;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat('binary', true);
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeAll(async () => {
    redis = await startRedis();
    const config = loadConfig({
      REDIS_URL: redis.url, LOUPE_TOKEN: TOKEN, LOUPE_QUERY_PORT: '0', LOUPE_LOG_LEVEL: 'warn', LOUPE_SHARDS: '2',
      LOUPE_MAX_BYTES: String(MAX_BYTES),
    });
    const model = await loadHashModel(config.LOUPE_MODEL);
    const writer = new Redis(redis.url);
    const shards = new ShardWriter(writer, { shards: 2, bits: model.bits, plan: model.plan ?? DEFAULT_VIEW_PLAN, model: model.id }, new SeededRandom(5));
    await shards.init();
    await shards.put('photos/cat.jpg', 0);
    await shards.put('photos/dog.jpg', 1);
    // A duplicate group as the upkeep stores it (the upkeep itself: duplicates.e2e.test.ts).
    const group = {
      id: 'photos/cat.jpg',
      original: { key: 'photos/cat.jpg', width: 640, height: 480, bytes: 52_000 },
      members: [{ key: 'photos/dog.jpg', relation: 'crop-of', score: 0.84, box: { x: 10, y: 20, w: 320, h: 240 }, bytes: 9_000 }],
      reclaimableBytes: 9_000,
    };
    await writer.hset(GroupKeys.groups, group.id, JSON.stringify(group));
    await writer.zadd(GroupKeys.ids, 0, `0999999998:${group.id}`); // listing order: larger groups first
    await writer.hset(GroupKeys.member, 'photos/cat.jpg', group.id, 'photos/dog.jpg', group.id);
    writer.disconnect();
    query = await startQuery(config);
    base = `http://127.0.0.1:${query.port}`;
    await waitFor('searchers ready', async () => (await fetch(`${base}/readyz`)).status === 200, 30_000);
    doc = await (await fetch(`${base}/docs/json`)).json();
  });
  afterAll(async () => {
    await query?.close();
    await redis?.stop();
  });

  const validators = new Map<string, ValidateFunction>();
  function validatorFor(path: string, method: string, status: number): ValidateFunction {
    const id = `${method} ${path} ${status}`;
    if (!validators.has(id)) {
      const response = doc.paths[path]?.[method]?.responses?.[String(status)];
      if (!response) throw new Error(`the OpenAPI document has no ${status} for ${method.toUpperCase()} ${path}`);
      const schema = response.content?.['application/json']?.schema;
      if (!schema) throw new Error(`${id}: no application/json schema`);
      validators.set(id, ajv.compile({ ...(closed(schema) as Schema), components: doc.components }));
    }
    return validators.get(id)!;
  }

  /** Sends the request, checks status and body against the document (under `docPath`, for a path with parameters), returns the body. */
  async function expectDocumented(path: string, init: RequestInit & { method: string }, status: number, qs = '', docPath = path): Promise<any> {
    const res = await fetch(`${base}${path}${qs}`, init);
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const validate = validatorFor(docPath, init.method.toLowerCase(), status);
    expect(validate(body) ? [] : validate.errors, `${init.method} ${path} ${status}: ${JSON.stringify(body)}`).toEqual([]);
    return body;
  }
  const search = (body: BodyInit, type: string, status: number, qs = '', headers: Record<string, string> = auth) =>
    expectDocumented('/v1/search', { method: 'POST', body, headers: { ...headers, 'content-type': type } }, status, qs);

  it('documents the search request: image bytes or JSON {key} | {code}, and its query parameters', () => {
    const op = doc.paths['/v1/search'].post;
    expect(Object.keys(op.requestBody.content)).toEqual(expect.arrayContaining(['image/*', 'application/octet-stream', 'application/json']));
    const json = op.requestBody.content['application/json'].schema;
    expect(json.oneOf.map((s: Schema) => s.required)).toEqual([['key'], ['code']]);
    expect(op.parameters.map((p: Schema) => `${p.in}:${p.name}`).sort()).toEqual(['query:granularity', 'query:k', 'query:maxDistance', 'query:minScore']);
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '404', '413', '415', '500', '503']);
    expect(op.responses['503'].headers['Retry-After']).toBeDefined();
    expect(doc.paths['/v1/stats'].get.responses['503'].headers['Retry-After']).toBeDefined();
  });

  it('image search, key search and stats answer as documented', async () => {
    const image = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#3060a0' } })
      .composite([{ input: { create: { width: 30, height: 20, channels: 3, background: '#f0d020' } }, left: 20, top: 10 }])
      .jpeg()
      .toBuffer();
    const byImage = await search(new Uint8Array(image), 'image/jpeg', 200);
    expect(byImage.hits.length).toBe(2); // both objects, however far: no maxDistance
    const byKey = await search(JSON.stringify({ key: 'photos/cat.jpg' }), 'application/json', 200, '?k=1');
    expect(byKey.hits.map((h: { key: string }) => h.key)).toEqual(['photos/cat.jpg']);
    const stats = await expectDocumented('/v1/stats', { method: 'GET', headers: auth }, 200);
    expect(stats.indexed).toBe(2);
  });

  it('duplicate groups answer as documented', async () => {
    const list = await expectDocumented('/v1/duplicates', { method: 'GET', headers: auth }, 200, '?limit=10&minSize=2');
    expect(list).toMatchObject({ total: 1, nextCursor: null, groups: [{ id: 'photos/cat.jpg', members: [{ key: 'photos/dog.jpg' }] }] });
    const one = await fetch(`${base}/v1/duplicates/photos/dog.jpg`, { headers: auth });
    const group = await one.json();
    const validate = validatorFor('/v1/duplicates/{key}', 'get', 200);
    expect([one.status, validate(group) ? [] : validate.errors]).toEqual([200, []]);
    const none = await fetch(`${base}/v1/duplicates/photos/none.jpg`, { headers: auth });
    expect([none.status, validatorFor('/v1/duplicates/{key}', 'get', 404)(await none.json())]).toEqual([404, true]);
    await expectDocumented('/v1/duplicates', { method: 'GET', headers: auth }, 400, '?limit=0');
  });

  it('every 4xx is the one error body {error, message} the document names', async () => {
    await search('{"code":"abc"}', 'application/json', 400);
    await search('{not json', 'application/json', 400);
    await search(JSON.stringify({ key: 'photos/cat.jpg' }), 'application/json', 400, '?granularity=sideways');
    await search('{"key":"photos/cat.jpg"}', 'application/json', 401, '', {});
    await search('{"key":"photos/cat.jpg"}', 'application/json', 401, '', { authorization: 'Bearer wrong' });
    await expectDocumented('/v1/stats', { method: 'GET' }, 401);
    const missing = await search(JSON.stringify({ key: 'nowhere.jpg' }), 'application/json', 404);
    expect(missing.error).toBe('NotFound');
    expect((await search('hello', 'text/plain', 415)).error).toBe('UnsupportedMediaType');
    expect((await search('words, not pixels', 'image/png', 415)).error).toBe('not-an-image');
    expect((await search(new Uint8Array(MAX_BYTES + 1), 'image/jpeg', 413)).error).toBe('TooLarge');

    // A route that does not exist answers with the same body (checked against the documented 404).
    const res = await fetch(`${base}/v1/nothing-here`, { headers: auth });
    const body = await res.json();
    const notFound = validatorFor('/v1/search', 'post', 404);
    expect([res.status, notFound(body)]).toEqual([404, true]);
    // The check can fail: a body with a field the document does not name is refused.
    expect(notFound({ ...body, statusCode: 404 })).toBe(false);
    expect(notFound({ error: 'NotFound' })).toBe(false);
  });

  it('documents GET /v1/thumbnail/{key} (JPEG or WebP, 304) and answers its errors with the documented body', async () => {
    const op = doc.paths['/v1/thumbnail/{key}'].get;
    expect(op.parameters.map((p: Schema) => `${p.in}:${p.name}`).sort()).toEqual(['path:key', 'query:size']);
    expect(Object.keys(op.responses).sort()).toEqual(['200', '304', '400', '401', '404', '500', '503']);
    expect(Object.keys(op.responses['200'].content).sort()).toEqual(['image/jpeg', 'image/webp']);
    expect(Object.keys(op.responses['200'].headers)).toEqual(expect.arrayContaining(['ETag', 'X-Image-Width', 'X-Image-Height']));
    const thumb = (key: string, status: number, qs = '', headers: Record<string, string> = auth) =>
      expectDocumented(`/v1/thumbnail/${encodeURIComponent(key)}`, { method: 'GET', headers }, status, qs, '/v1/thumbnail/{key}');
    expect((await thumb('photos/cat.jpg', 400, '?size=1000')).error).toBe('BadRequest');
    await thumb('photos/cat.jpg', 401, '', {});
    expect((await thumb('nowhere.jpg', 404)).error).toBe('NotFound');
    // Indexed here (written codes), but no such file in the source (the samples folder).
    await thumb('photos/cat.jpg', 404);
  });
});
