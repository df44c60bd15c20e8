import type { FastifyPluginAsync } from 'fastify';
import { DeadLetterCursorError, type DeadLetterPage } from '@loupe/shared';
import { QueryInputError } from '../query.service.ts';
import { deadLetterListRouteSchema, deadLetterRetryRouteSchema } from './route-schemas.ts';

/** What the dead-letter routes need (the ingest side's DeadLetterService). */
export interface DeadLetterApi {
  list(limit: number, cursor?: string): Promise<DeadLetterPage>;
  /** null when the key is not a dead letter. */
  retry(key: string): Promise<'requeued' | 'dropped' | null>;
  retryAll(): Promise<{ requeued: number; dropped: number }>;
}

/**
 * GET /v1/dead (list, paged) and POST /v1/dead/retry ({key} or {all: true}), as a plugin registered
 * after the auth hook and error handler, which it inherits.
 */
export const deadLetterRoutes = (api: DeadLetterApi): FastifyPluginAsync => async (app) => {
  app.get('/v1/dead', { schema: deadLetterListRouteSchema }, async (req) => {
    const q = req.query as { limit: number; cursor?: string };
    try {
      return await api.list(q.limit, q.cursor || undefined);
    } catch (e) {
      if (e instanceof DeadLetterCursorError) throw new QueryInputError(400, e.message);
      throw e;
    }
  });

  app.post('/v1/dead/retry', { schema: deadLetterRetryRouteSchema }, async (req) => {
    const body = req.body as { key?: string; all?: true };
    if (body.all && body.key === undefined) return api.retryAll();
    if (body.key !== undefined && !body.all) {
      const outcome = await api.retry(body.key);
      if (!outcome) throw new QueryInputError(404, `${body.key} is not a dead letter`);
      return { requeued: outcome === 'requeued' ? 1 : 0, dropped: outcome === 'dropped' ? 1 : 0 };
    }
    throw new QueryInputError(400, 'JSON body must be {"key": "<object key>"} or {"all": true}');
  });
};
