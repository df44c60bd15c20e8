import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type HttpFault = '5xx' | 'reset' | 'stall';

export interface HttpFaultProxy {
  url: string;
  /** Share of requests (0..1) that get a fault; 0 passes everything through untouched. */
  rate: number;
  /** Faults injected so far, by kind. */
  readonly injected: Record<HttpFault, number>;
  close(): Promise<void>;
}

const UNAVAILABLE = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>injected fault</Message></Error>';

/**
 * An HTTP proxy in front of the S3 emulator that, for a `rate` share of requests, answers 503
 * (S3's "slow down / unavailable"), resets the connection before answering, or holds the request
 * for `stallMs` before passing it on: what a real bucket does now and then.
 */
export async function startHttpFaultProxy(target: string, random: () => number, stallMs = 2000): Promise<HttpFaultProxy> {
  const to = new URL(target);
  const injected: Record<HttpFault, number> = { '5xx': 0, reset: 0, stall: 0 };
  const proxy: HttpFaultProxy = { url: '', rate: 0, injected, close: async () => undefined };
  const pass = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };
  const server = http.createServer((req, res) => {
    if (random() >= proxy.rate) return pass(req, res);
    const fault: HttpFault = (['5xx', 'reset', 'stall'] as const)[Math.floor(random() * 3)];
    injected[fault]++;
    if (fault === 'stall') {
      req.pause();
      setTimeout(() => pass(req, res), stallMs);
      return;
    }
    req.resume();
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(UNAVAILABLE) }).end(UNAVAILABLE);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
