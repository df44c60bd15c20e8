import type { FastifyPluginAsync } from 'fastify';
import { QueryInputError } from '../query.service.ts';
import { ThumbnailUnavailableError, type ThumbnailService } from '../thumbnail.service.ts';
import { etagOf, sendCached } from './cached-response.ts';
import { thumbnailRouteSchema } from './route-schemas.ts';

/** Seconds a client waits before asking again for a thumbnail the source did not give. */
const SOURCE_RETRY_AFTER_S = 5;

/**
 * GET /v1/thumbnail/{key}?size=: an indexed image, small, for the web page. A plugin registered
 * after the auth hook and error handler, which it inherits.
 */
export const thumbnailRoutes = (thumbnails: ThumbnailService): FastifyPluginAsync => async (app) => {
  app.get('/v1/thumbnail/:key', { schema: thumbnailRouteSchema }, async (req, reply) => {
    const { key } = req.params as { key: string };
    const { size } = req.query as { size: number };
    const format = req.headers.accept?.includes('image/webp') ? 'webp' : 'jpeg';
    let thumb;
    try {
      thumb = await thumbnails.thumbnail(key, size, format);
    } catch (e) {
      if (!(e instanceof ThumbnailUnavailableError)) throw e;
      req.log.warn({ key, err: e.message }, 'thumbnail not made: the source did not give the image');
      return reply.code(503).header('Retry-After', String(SOURCE_RETRY_AFTER_S)).send({ error: 'SourceUnavailable', message: e.message });
    }
    if (!thumb) throw new QueryInputError(404, `key ${JSON.stringify(key)} is not indexed (or no longer in the source)`);
    reply.header('Vary', 'Accept, Authorization').header('X-Image-Width', String(thumb.width)).header('X-Image-Height', String(thumb.height));
    // private: behind a bearer token the bytes are the caller's, not a shared cache's.
    return sendCached(req, reply, { body: thumb.bytes, type: `image/${thumb.format}`, etag: etagOf(thumb.bytes), cacheControl: 'private, max-age=300' });
  });
};
