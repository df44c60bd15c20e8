import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsync } from 'fastify';
import { etagOf, sendCached, type CachedBody } from './cached-response.ts';

const PUBLIC_DIR = new URL('../../public/', import.meta.url);

/** The page and its assets: url -> file in public/ and its type. Nothing else is served from there. */
const ASSETS: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/web/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/web/style.css': ['style.css', 'text/css; charset=utf-8'],
};

/**
 * Everything the page loads comes from this service (thumbnails and the query as blob: URLs); the
 * browser is told so, which also keeps an injected script from talking elsewhere.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The web page at / (search, duplicates, status), outside /v1 so it loads without the token; the
 * page asks for the token and sends it with its /v1 calls. Files are read once, at start-up, and
 * revalidated by the browser on each load (no-cache + ETag: a 304 costs no bytes).
 */
export const webRoutes = (): FastifyPluginAsync => async (app) => {
  for (const [url, [file, type]] of Object.entries(ASSETS)) {
    const body = await readFile(new URL(file, PUBLIC_DIR));
    const cached: CachedBody = { body, type, etag: etagOf(body), cacheControl: 'no-cache' };
    app.get(url, { schema: { hide: true } }, async (req, reply) => {
      reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY).header('X-Content-Type-Options', 'nosniff');
      return sendCached(req, reply, cached);
    });
  }
};
