import http2 from 'node:http2';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@loupe/shared';
import { SearchInputError } from '../searcher/mirror-types.ts';
import { decodeRequest, encodeResponse, ShardRpcFormatError, type ShardReply, type ShardSearchRequest } from './shard-rpc-codec.ts';

/** Path of the one call of the searcher RPC. */
export const SHARD_SEARCH_PATH = '/loupe.searcher/search';
/** Content type of its binary bodies (shard-rpc-codec.ts). */
export const SHARD_RPC_CONTENT_TYPE = 'application/x-loupe-shards';

/** What answers the shard searches (the searcher service: its generations' pools). */
export interface ShardSearchBackend {
  searchShards(req: ShardSearchRequest): Promise<ShardReply[]>;
}

export interface SearcherRpcServerOptions {
  /** Largest request body accepted (a query's probes are a few kB). */
  maxBodyBytes?: number;
}

/**
 * The searcher RPC: HTTP/2 (cleartext, one connection per router, requests multiplexed) with
 * binary bodies. Every request must carry the shared secret (`Authorization: Bearer <token>`);
 * one without it is refused with 401 before its body is read. Errors are JSON {error, message}.
 */
export class SearcherRpcServer {
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly tokenDigest: Buffer;

  constructor(
    private readonly backend: ShardSearchBackend,
    token: string,
    private readonly log: Logger,
    private readonly opts: SearcherRpcServerOptions = {},
  ) {
    this.tokenDigest = digest(`Bearer ${token}`);
    this.server = http2.createServer();
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => undefined); // a router that went away; its streams end with it
    });
    this.server.on('stream', (stream, headers) => this.handle(stream, headers));
  }

  /** Listens; resolves with the port (useful with port 0). */
  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions) s.destroy();
    await closed;
  }

  private handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => undefined); // the caller cancelled (hedged elsewhere, or its deadline passed)
    if (!this.authorized(headers.authorization)) return reject(stream, 401, 'Unauthorized', 'the searcher RPC needs the shared secret (Authorization: Bearer <LOUPE_SEARCHER_TOKEN>)');
    if (headers[':path'] !== SHARD_SEARCH_PATH) return reject(stream, 404, 'NotFound', `no call ${headers[':path']}`);
    if (headers[':method'] !== 'POST') return reject(stream, 405, 'MethodNotAllowed', 'the search call is a POST');
    const max = this.opts.maxBodyBytes ?? 4 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(stream, 413, 'TooLarge', `request body over ${max} bytes`);
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => {
      if (size > max || stream.destroyed) return;
      void this.answer(stream, Buffer.concat(chunks));
    });
  }

  private async answer(stream: http2.ServerHttp2Stream, body: Buffer): Promise<void> {
    const started = performance.now();
    let replies: ShardReply[];
    try {
      replies = await this.backend.searchShards(decodeRequest(body));
    } catch (e) {
      if (e instanceof ShardRpcFormatError || e instanceof SearchInputError) return reject(stream, 400, 'BadRequest', e.message);
      this.log.error({ err: String(e) }, 'shard search failed');
      return reject(stream, 500, 'InternalError', String(e));
    }
    if (stream.destroyed) return;
    const answer = encodeResponse(replies);
    // The searcher's own time (request read to answer encoded): what a router adds is the rest.
    stream.respond({ ':status': 200, 'content-type': SHARD_RPC_CONTENT_TYPE, 'server-timing': `search;dur=${(performance.now() - started).toFixed(2)}` });
    stream.end(answer);
  }

  /** Compared as digests, in constant time: the answer says nothing of how much of a guess was right. */
  private authorized(header: string | undefined): boolean {
    return header !== undefined && timingSafeEqual(digest(header), this.tokenDigest);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function reject(stream: http2.ServerHttp2Stream, status: number, error: string, message: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': status, 'content-type': 'application/json' });
  stream.end(JSON.stringify({ error, message }));
}
