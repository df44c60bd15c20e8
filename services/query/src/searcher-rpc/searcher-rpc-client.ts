import http2 from 'node:http2';
import { decodeResponse, encodeRequest, type ShardReply, type ShardSearchRequest } from './shard-rpc-codec.ts';
import { SHARD_RPC_CONTENT_TYPE, SHARD_SEARCH_PATH } from './searcher-rpc-server.ts';

/** A call that got no answer: refused connection, reset, a non-200 status, or a body that does not decode. */
export class SearcherRpcError extends Error {
  constructor(
    message: string,
    /** HTTP status when the searcher answered with one. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SearcherRpcError';
  }
}

/**
 * One searcher's RPC from the router's side: a single HTTP/2 connection, opened on first use and
 * again after it breaks, on which every call is a stream (so calls never queue behind each other).
 */
export class SearcherRpcClient {
  private session: http2.ClientHttp2Session | null = null;

  constructor(
    readonly address: string,
    private readonly token: string,
  ) {}

  /** Runs one search; rejects with SearcherRpcError, or when `signal` aborts (the call is cancelled). */
  search(req: ShardSearchRequest, signal: AbortSignal): Promise<ShardReply[]> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        f();
      };
      const stream = this.connect().request({
        ':method': 'POST',
        ':path': SHARD_SEARCH_PATH,
        authorization: `Bearer ${this.token}`,
        'content-type': SHARD_RPC_CONTENT_TYPE,
      });
      const onAbort = () => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        settle(() => reject(new SearcherRpcError(`call to ${this.address} cancelled`)));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () =>
        settle(() => {
          const body = Buffer.concat(chunks);
          if (status !== 200) return reject(new SearcherRpcError(`searcher ${this.address} answered ${status}: ${body.toString('utf8').slice(0, 300)}`, status));
          try {
            resolve(decodeResponse(body, req.queries.length));
          } catch (e) {
            reject(new SearcherRpcError(`searcher ${this.address}: ${(e as Error).message}`));
          }
        }),
      );
      stream.on('error', (e) => settle(() => reject(new SearcherRpcError(`searcher ${this.address}: ${e.message}`))));
      stream.on('close', () => settle(() => reject(new SearcherRpcError(`searcher ${this.address} closed the call without an answer`))));
      if (signal.aborted) return onAbort();
      stream.end(encodeRequest(req));
    });
  }

  close(): void {
    this.session?.close();
    this.session = null;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(`http://${this.address}`);
    // The connection alone keeps no process up (a router's own HTTP server does).
    session.unref();
    const forget = () => {
      if (this.session === session) this.session = null;
    };
    session.on('error', forget); // each call in flight fails with its own stream error
    session.on('close', forget);
    session.on('goaway', forget);
    this.session = session;
    return session;
  }
}
