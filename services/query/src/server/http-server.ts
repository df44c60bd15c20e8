import Fastify, { LogController, type FastifyError } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { isRedisConnectionError, RedisUnavailableError, type Logger } from '@loupe/shared';
import { INPUT_ERROR_CODES, QueryInputError, type QueryService } from '../query.service.ts';
import { SearchInputError } from '../searcher/index.ts';
import type { MetricsRegistry } from '../metrics/metrics-registry.ts';
import { QueryOverloadedError } from '../encoding/query-encoder-pool.ts';
import type { SearchParams } from '../search-types.ts';
import { searchRequestBody, searchRouteSchema, statsRouteSchema } from './route-schemas.ts';
import { deadLetterRoutes, type DeadLetterApi } from './dead-letter-routes.ts';
import { duplicateRoutes, type DuplicatesApi } from './duplicate-routes.ts';
import { thumbnailRoutes } from './thumbnail-routes.ts';
import { webRoutes } from './web-routes.ts';
import type { ThumbnailService } from '../thumbnail.service.ts';

export interface HttpServerDeps {
  query: QueryService;
  stats: () => Promise<unknown>;
  /** What keeps this query service from answering from its mirrors; empty when ready. */
  missing: () => string[];
  /** Whether Redis answers (searches by key and stats need it; the mirrors answer without). */
  redis: { readonly up: boolean };
  metrics: MetricsRegistry;
  log: Logger;
  token?: string;
  maxBytes: number;
  bits: number;
  /** Dead letters: listed at /v1/dead, retried at /v1/dead/retry (absent: no such routes). */
  deadLetters?: DeadLetterApi;
  /** Duplicate groups: /v1/duplicates ('off': 404 saying LOUPE_DUPLICATE_GROUPS is false; absent: no such routes). */
  duplicates?: DuplicatesApi | 'off';
  /** Thumbnails of indexed images at /v1/thumbnail/{key} (absent: no such route). */
  thumbnails?: ThumbnailService;
}

/** Maps an image rejected by prepareImage to the status a client should see. */
function imageRejectionStatus(reason: string): number {
  if (reason.startsWith('too-large') || reason.startsWith('too-many')) return 413;
  if (reason === 'not-an-image' || reason === 'unsupported-format') return 415;
  return 400;
}

export async function buildHttpServer(d: HttpServerDeps) {
  const app = Fastify({
    loggerInstance: d.log,
    bodyLimit: d.maxBytes,
    // Request lines would drown the events that matter; /metrics counts requests instead.
    logController: new LogController({ disableRequestLogging: true }),
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Loupe RPC', version: '1.0.0', description: 'Image similarity and part-of search over the indexed bucket.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Image bytes arrive raw; JSON bodies name a key or a code; anything else is a 415.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(/^(image\/.+|application\/octet-stream)$/, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (req, reply) => {
    if (!d.token || !req.url.startsWith('/v1/')) return;
    // The scheme is case-insensitive (RFC 9110); the token is not.
    const [scheme, credentials] = (req.headers.authorization ?? '').trim().split(/\s+/, 2);
    if (scheme?.toLowerCase() !== 'bearer' || credentials !== d.token) {
      return reply.code(401).send({ error: 'Unauthorized', message: 'missing or wrong bearer token' });
    }
  });
  // close() answers the requests in flight, but a keep-alive connection would then hold it until
  // its client hangs up (keepAliveTimeout, 72 s): while closing, answers say `Connection: close`
  // and connections left idle are closed as soon as their last answer is out.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (req, reply) => {
    d.metrics.requests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
    if (closing) setImmediate(() => app.server.closeIdleConnections());
  });

  app.setErrorHandler((err: FastifyError & { reason?: string }, req, reply) => {
    if (err instanceof QueryInputError) return reply.code(err.status).send({ error: err.name, message: err.message });
    if (err instanceof SearchInputError) return reply.code(400).send({ error: 'BadRequest', message: err.message });
    if (err instanceof QueryOverloadedError) {
      d.metrics.overloaded.inc();
      return reply.code(503).header('Retry-After', String(err.retryAfterS)).send({ error: err.name, message: err.message });
    }
    if (err instanceof RedisUnavailableError || isRedisConnectionError(err)) {
      const unavailable = err instanceof RedisUnavailableError ? err : new RedisUnavailableError(`${req.method} ${req.routeOptions.url ?? req.url}`);
      return reply.code(503).header('Retry-After', String(unavailable.retryAfterS)).send({ error: unavailable.name, message: unavailable.message });
    }
    if (err.name === 'ImageRejectedError' && err.reason) {
      return reply.code(imageRejectionStatus(err.reason)).send({ error: err.reason, message: err.message });
    }
    if (err.validation || (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)) {
      // Fastify's own rejections (validation, body parsing, size) take the same codes as ours.
      const status = err.statusCode ?? 400;
      const code = INPUT_ERROR_CODES[status as keyof typeof INPUT_ERROR_CODES] ?? err.code ?? 'BadRequest';
      return reply.code(status).send({ error: code, message: err.message });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'InternalError', message: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'NotFound', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  // The body is checked by the handler (clearer messages than a schema's), so the OpenAPI document gets it here.
  const documentSearchBody = ({ schema, url }: { schema: object; url: string }) => ({ schema: { ...schema, body: searchRequestBody }, url });
  app.post('/v1/search', { schema: searchRouteSchema, config: { swaggerTransform: documentSearchBody } }, async (req, reply) => {
    const q = req.query as { k: number; granularity: SearchParams['granularity']; maxDistance?: number; minScore?: number };
    if (q.maxDistance !== undefined && q.maxDistance > d.bits) {
      throw new QueryInputError(400, `maxDistance must be <= ${d.bits}`);
    }
    const params: SearchParams = { k: q.k, granularity: q.granularity, maxDistance: q.maxDistance, minScore: q.minScore };
    const started = performance.now();
    let result;
    if (Buffer.isBuffer(req.body)) {
      if (req.body.length === 0) throw new QueryInputError(400, 'empty body: send image bytes or JSON {"key"} / {"code"}');
      result = await d.query.searchImage(req.body, params);
    } else {
      const body = (req.body ?? {}) as { key?: unknown; code?: unknown };
      if (body.key !== undefined && body.code !== undefined) throw new QueryInputError(400, 'JSON body must have "key" or "code", not both');
      if (typeof body.key === 'string' && body.key) result = await d.query.searchKey(body.key, params);
      else if (typeof body.code === 'string') result = await d.query.searchHex(body.code.toLowerCase(), params);
      else throw new QueryInputError(400, 'JSON body must be {"key": "<object key>"} or {"code": "<hex>"}');
    }
    d.metrics.searchSeconds.observe((performance.now() - started) / 1000);
    if (result.timings) reply.header('Server-Timing', serverTiming(result.timings, result.checkSkipped));
    if (result.partial) {
      d.metrics.partialSearches.inc();
      return reply.code(503).send(result);
    }
    return result;
  });

  app.get('/v1/stats', { schema: statsRouteSchema }, async () => d.stats());
  if (d.deadLetters) await app.register(deadLetterRoutes(d.deadLetters));
  if (d.duplicates) await app.register(duplicateRoutes(d.duplicates));
  if (d.thumbnails) await app.register(thumbnailRoutes(d.thumbnails));
  await app.register(webRoutes());
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  // Ready means the mirrors can answer: with Redis down they still do (stale), so an orchestrator
  // keeps sending image and code searches here; the body says Redis is down.
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const missing = d.missing();
    const redis = d.redis.up ? 'up' : 'down';
    if (missing.length) return reply.code(503).send({ error: 'NotReady', ready: false, redis, missing, message: `not ready: ${missing.join('; ')}` });
    return d.redis.up ? { ready: true, redis } : { ready: true, redis, stale: true, message: 'Redis is unreachable: image and code searches answer from the in-memory mirrors (stale); searches by key and /v1/stats answer 503' };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/plain; version=0.0.4').send(d.metrics.render()),
  );
  return app;
}

/** Server-Timing: milliseconds per phase, and how many candidates the pixel check skipped for lack of time. */
function serverTiming(timings: Record<string, number>, checkSkipped = 0): string {
  const phases = Object.entries(timings).map(([phase, ms]) => `${phase};dur=${ms.toFixed(1)}`);
  if (checkSkipped) phases.push(`check-skipped;desc="${checkSkipped} candidates unchecked: source read budget spent"`);
  return phases.join(', ');
}
