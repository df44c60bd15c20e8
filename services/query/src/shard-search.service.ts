import type { IndexLayout } from '@loupe/shared';
import type { SearcherPool } from './searcher/searcher-pool.ts';
import { validateQuery } from './searcher/validate-query.ts';
import type { ShardSearchBackend } from './searcher-rpc/searcher-rpc-server.ts';
import type { ShardReply, ShardSearchRequest } from './searcher-rpc/shard-rpc-codec.ts';

/** One index generation a searcher process holds: its layout and the pool mirroring its shards. */
export interface SearcherGeneration {
  readonly namespace: string;
  readonly layout: IndexLayout & { model: string };
  readonly pool: SearcherPool;
  close(): Promise<void>;
}

/**
 * A searcher process's answer to the RPC: the request names the generation its codes were made
 * for, and the searcher answers only from that generation (a router and a searcher can be a moment
 * apart across a switch). Each shard answers for itself: one not owned, not loaded or late is an
 * error reply, which sends the router to another replica.
 */
export class ShardSearchService implements ShardSearchBackend {
  constructor(
    private readonly held: () => SearcherGeneration[],
    /** Most a request may ask this searcher to wait, whatever its budget says. */
    private readonly maxTimeoutMs: number,
  ) {}

  async searchShards(req: ShardSearchRequest): Promise<ShardReply[]> {
    const generation = this.held().find((g) => g.namespace === req.generation);
    if (!generation) return req.shards.map((shard) => ({ shard, error: `generation ${req.generation} is not held by this searcher` }));
    const queries = req.queries.map((q) => validateQuery(q, generation.layout));
    const timeoutMs = Math.min(Math.max(1, req.timeoutMs), this.maxTimeoutMs);
    const { answers, stale } = await generation.pool.searchShards(queries, req.shards, timeoutMs);
    return req.shards.map((shard): ShardReply => {
      const answer = answers.get(shard);
      return answer ? { shard, answer, stale: stale.has(shard) } : { shard, error: `shard ${shard} is not loaded here, or did not answer in ${timeoutMs} ms` };
    });
  }
}
