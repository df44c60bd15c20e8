import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A body with its validator, for conditional GETs. */
export interface CachedBody {
  body: Buffer;
  type: string;
  /** Quoted ETag of the body. */
  etag: string;
  cacheControl: string;
}

/** Sends the body, or 304 with no body when the request's If-None-Match names its ETag. */
export function sendCached(req: FastifyRequest, reply: FastifyReply, c: CachedBody): FastifyReply {
  reply.header('ETag', c.etag).header('Cache-Control', c.cacheControl);
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === c.etag)) return reply.code(304).send();
  return reply.type(c.type).send(c.body);
}

/** A strong ETag of the bytes (quoted). */
export function etagOf(bytes: Buffer): string {
  return `"${createHash('sha1').update(bytes).digest('base64url').slice(0, 22)}"`;
}
