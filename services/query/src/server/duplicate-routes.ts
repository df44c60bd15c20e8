import type { FastifyPluginAsync } from 'fastify';
import { QueryInputError } from '../query.service.ts';
import { DuplicateCursorError, type DuplicateGroupsService } from '../groups/duplicate-groups.service.ts';
import { duplicateGroupRouteSchema, duplicateListRouteSchema } from './route-schemas.ts';

export type DuplicatesApi = Pick<DuplicateGroupsService, 'list' | 'groupOf'>;

/**
 * GET /v1/duplicates (paged, filtered) and GET /v1/duplicates/{key}, inheriting the auth hook and
 * error handler; with the upkeep turned off ('off'), both answer 404 saying so.
 */
export const duplicateRoutes = (api: DuplicatesApi | 'off'): FastifyPluginAsync => async (app) => {
  if (api === 'off') {
    const off = async () => {
      throw new QueryInputError(404, 'duplicate groups are turned off on this deployment (LOUPE_DUPLICATE_GROUPS=false)');
    };
    app.get('/v1/duplicates', { schema: { hide: true } }, off);
    app.get('/v1/duplicates/*', { schema: { hide: true } }, off);
    return;
  }
  app.get('/v1/duplicates', { schema: duplicateListRouteSchema }, async (req) => {
    const q = req.query as { limit: number; cursor?: string; prefix?: string; minSize: number };
    try {
      return await api.list({ limit: q.limit, cursor: q.cursor || undefined, prefix: q.prefix || undefined, minSize: q.minSize });
    } catch (e) {
      if (e instanceof DuplicateCursorError) throw new QueryInputError(400, e.message);
      throw e;
    }
  });
  // A wildcard, since object keys hold slashes; documented as the {key} it is.
  const documentKey = ({ schema }: { schema: object }) => ({
    schema: { ...schema, params: { type: 'object', required: ['key'], properties: { key: { type: 'string', description: 'the object key (slashes as they are)' } } } },
    url: '/v1/duplicates/:key',
  });
  app.get('/v1/duplicates/*', { schema: duplicateGroupRouteSchema, config: { swaggerTransform: documentKey } }, async (req) => {
    const key = (req.params as { '*': string })['*'];
    if (!key) throw new QueryInputError(400, 'give a key: /v1/duplicates/<object key>');
    const group = await api.groupOf(key);
    if (!group) throw new QueryInputError(404, `${key} is in no duplicate group`);
    return group;
  });
};
