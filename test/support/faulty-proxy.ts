import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultyProxy {
  url: string;
  /** Requests for which this returns true are answered 503 (S3's ServiceUnavailable) instead of passed on. */
  failWhen: (req: http.IncomingMessage) => boolean;
  /**
   * Milliseconds to hold a request before passing it on (a slow source; 0 by default), and the
   * path and query to pass on instead of its own (such as a listing with smaller pages).
   */
  slowWhen: (req: http.IncomingMessage) => { delayMs: number; url?: string } | null;
  /** Requests answered 503 and passed on so far. */
  failed: number;
  passed: number;
  close(): Promise<void>;
}

const UNAVAILABLE = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>injected fault: service unavailable</Message></Error>';

/**
 * An HTTP proxy in front of `target` (the S3 emulator) that answers 503 to what `failWhen` picks
 * (an S3 outage on demand) and holds back what `slowWhen` picks (a slow one).
 */
export async function startFaultyProxy(target: string): Promise<FaultyProxy> {
  const to = new URL(target);
  const proxy: FaultyProxy = { url: '', failWhen: () => false, slowWhen: () => null, failed: 0, passed: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    if (proxy.failWhen(req)) {
      proxy.failed++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(UNAVAILABLE) }).end(UNAVAILABLE);
      return;
    }
    proxy.passed++;
    const slow = proxy.slowWhen(req);
    const pass = () => {
      const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: slow?.url ?? req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    };
    if (slow?.delayMs) setTimeout(pass, slow.delayMs);
    else pass();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise((resolve) => server.close(() => resolve()));
  server.keepAliveTimeout = 1000;
  return proxy;
}

/** A path-style GET or HEAD of one object (`/bucket/key`), not a listing (`/bucket?list-type=2`). */
export function isObjectRead(req: http.IncomingMessage): boolean {
  const pathname = new URL(req.url ?? '/', 'http://x').pathname;
  return (req.method === 'GET' || req.method === 'HEAD') && pathname.split('/').filter(Boolean).length >= 2;
}

/** A listing (`GET /bucket?list-type=2`). */
export function isListing(req: http.IncomingMessage): boolean {
  return req.method === 'GET' && new URL(req.url ?? '/', 'http://x').searchParams.get('list-type') === '2';
}
