import type { IndexLayout, Logger } from '@loupe/shared';
import { HitResolver } from '../searcher/hit-resolver.ts';
import { validateQuery } from '../searcher/validate-query.ts';
import type { FanoutResult, SearchQuery } from '../searcher/searcher-types.ts';
import type { SearcherRpcClient } from '../searcher-rpc/searcher-rpc-client.ts';
import type { LatencyWindow } from './latency-window.ts';
import { RoutedSearch } from './routed-search.ts';
import { waitReady } from '../searcher/wait-ready.ts';
import type { SearcherDirectory } from './searcher-directory.ts';

/** Since start: what routing took beyond one call per searcher (for /metrics). */
export interface RouterCounters {
  calls: number;
  hedged: number;
  failedOver: number;
}

/** What every generation's router shares: the registry, the connections, the call latencies, the counters. */
export interface RouterDeps {
  counters: RouterCounters;
  directory: SearcherDirectory;
  client(address: string): SearcherRpcClient;
  latency: LatencyWindow;
  /** Fixed hedge delay (LOUPE_QUERY_HEDGE_MS); default the p95 of recent calls. */
  hedgeMs?: number;
  log: Logger;
}

/** Hedge delay before enough calls were timed for a p95. */
const INITIAL_HEDGE_MS = 50;

/**
 * The query service's shard fan-out over searcher processes (LOUPE_SEARCHERS=registry), for one
 * index generation: every shard of the generation goes to one live searcher that registered it
 * ready (RoutedSearch: failover, hedging), and the shards' answers are merged exactly as the
 * embedded SearcherPool merges its workers' (HitResolver). Ready when every shard has a searcher.
 */
export class ShardRouter {
  private readonly resolver: HitResolver;
  private turn = 0;
  private closed = false;

  constructor(
    private readonly generation: string,
    private readonly layout: IndexLayout,
    private readonly deps: RouterDeps,
  ) {
    this.resolver = new HitResolver(deps.log);
  }

  async search(queries: SearchQuery[], timeoutMs: number): Promise<FanoutResult> {
    const t0 = Date.now();
    const wire = queries.map((q) => validateQuery(q, this.layout));
    const turn = this.turn++;
    const { directory, latency } = this.deps;
    const search = new RoutedSearch(
      {
        generation: this.generation,
        queries: wire,
        replicas: (shard) => directory.replicas(this.generation, shard, turn),
        client: (address) => this.deps.client(address),
        failed: (searcher, e) => {
          directory.markDown(searcher.id);
          this.deps.log.warn({ searcher: searcher.id, address: searcher.address, err: e.message }, 'searcher call failed; asking another replica');
        },
        answered: (ms) => latency.add(ms),
      },
      range(this.layout.shards),
      t0 + timeoutMs,
    );
    const hedgeMs = this.deps.hedgeMs ?? Math.max(1, latency.quantile(0.95, INITIAL_HEDGE_MS));
    const { answers, failed, stale, calls, hedged, failedOver, slowestSearcherMs } = await search.run(hedgeMs);
    const { counters } = this.deps;
    counters.calls += calls;
    counters.hedged += hedged;
    counters.failedOver += failedOver;
    const failedList = [...failed].sort((a, b) => a - b);
    return {
      results: this.resolver.resolve(answers, wire, failed),
      shards: { total: this.layout.shards, ok: this.layout.shards - failedList.length, failed: failedList },
      stale: [...stale].some((s) => !failed.has(s)),
      tookMs: Date.now() - t0,
      slowestSearcherMs,
    };
  }

  ready(): boolean {
    return this.missing().length === 0;
  }

  /** Shards no registered searcher holds ready for this generation (empty when ready). */
  missing(): string[] {
    const { directory } = this.deps;
    if (!directory.known) return ['the searcher registry has not been read yet'];
    const uncovered = range(this.layout.shards).filter((s) => directory.replicas(this.generation, s).length === 0);
    return uncovered.length ? [`no searcher holds shards ${ranges(uncovered)} of generation ${this.generation} ready`] : [];
  }

  waitReady(timeoutMs: number): Promise<boolean> {
    return waitReady(() => this.ready(), timeoutMs, () => this.closed);
  }

  /** The registry and connections are the query service's, closed with it. */
  async close(): Promise<void> {
    this.closed = true;
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** 0,1,2,5,7,8 -> "0-2, 5, 7-8". */
export function ranges(sorted: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}
