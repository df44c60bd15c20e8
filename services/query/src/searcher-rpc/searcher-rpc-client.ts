import http2 from 'node:http2';
import { decodeResponse, encodeRequest, type ShardReply, type ShardSearchRequest } from './shard-rpc-codec.ts';
import { SHARD_RPC_CONTENT_TYPE, SHARD_SEARCH_PATH } from './searcher-rpc-server.ts';

/** Flow-control window of a router's connection to a searcher and of each call on it. */
const ANSWER_WINDOW_BYTES = 8 << 20;

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

/** A searcher's answer to one call: a reply per shard, and its own time on them (Server-Timing `search`), when it said. */
export interface SearcherAnswer {
  replies: ShardReply[];
  searcherMs?: number;
}

/** The `search` duration of a Server-Timing header (`search;dur=12.5`), or undefined. */
export function searchDuration(header: string | string[] | undefined): number | undefined {
  const m = /(?:^|,)\s*search;(?:[^,]*;)?\s*dur=([0-9.]+)/.exec(Array.isArray(header) ? header.join(',') : (header ?? ''));
  return m ? Number(m[1]) : undefined;
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
  search(req: ShardSearchRequest, signal: AbortSignal): Promise<SearcherAnswer> {
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
      let searcherMs: number | undefined;
      const chunks: Buffer[] = [];
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
        searcherMs = searchDuration(headers['server-timing']);
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () =>
        settle(() => {
          const body = Buffer.concat(chunks);
          if (status !== 200) return reject(new SearcherRpcError(`searcher ${this.address} answered ${status}: ${body.toString('utf8').slice(0, 300)}`, status));
          try {
            resolve({ replies: decodeResponse(body, req.queries.length), searcherMs });
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
    // A searcher's answer is tens of KB per shard it holds: with HTTP/2's default 64 KiB windows a
    // searcher of 8 shards would wait for a WINDOW_UPDATE (a round trip through both event loops)
    // in the middle of each answer.
    const session = http2.connect(`http://${this.address}`, { settings: { initialWindowSize: ANSWER_WINDOW_BYTES } });
    session.once('connect', () => session.setLocalWindowSize(ANSWER_WINDOW_BYTES));
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
