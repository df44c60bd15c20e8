import { availableParallelism } from 'node:os';
import { nativeAddonLoaded, nativePopcountScan } from '@loupe/native';
import {
  createLogger,
  createRedis,
  readGenerations,
  readIndexLayout,
  type IndexLayout,
  type Logger,
  type RedisClient,
} from '@loupe/shared';
import { HitResolver } from './hit-resolver.ts';
import type { ShardAnswer } from './shard-answer-codec.ts';
import type { MirrorStats } from './mirror-types.ts';
import type { FanoutResult, SearchQuery, SearcherConfig, SearcherPoolOptions, SearcherStats, ShardStats } from './searcher-types.ts';
import { ShardWorkerHost } from './shard-worker-host.ts';
import { validateQuery } from './validate-query.ts';
import { waitReady } from './wait-ready.ts';
import { packCodes, type FromWorker, type WireQuery } from './worker-protocol.ts';

/** The shards' own answers to a search, before the merge (what a searcher process sends a router). */
export interface ShardAnswers {
  answers: Map<number, ShardAnswer>;
  failed: Set<number>;
  /** Shards that answered from a mirror that may lack recent changes. */
  stale: Set<number>;
}

interface PendingSearch {
  waiting: Set<number>;
  answers: Map<number, ShardAnswer>;
  failed: Set<number>;
  /** Shards that answered from a mirror that may lack recent changes. */
  stale: Set<number>;
  done: () => void;
}

/**
 * Main-thread side of the searchers: shard worker threads (each owning the mirrors of its
 * shards), fan-out of every query to every shard with a deadline, and the merge. The mirrors name
 * their hits (key, size), so a search needs no Redis. A shard that is slow, not loaded or dead is
 * reported in `shards.failed`; it never throws.
 */
export class SearcherPool {
  private config: SearcherConfig | null = null;
  private redis: RedisClient | null = null;
  private readonly resolver: HitResolver;
  private layoutValue: IndexLayout | null = null;
  private hosts: ShardWorkerHost[] = [];
  /** The shards this pool mirrors: every shard of the index unless `opts.shards` names some. */
  private owned: number[] = [];
  private hostOfShard = new Map<number, ShardWorkerHost>();
  private readonly searches = new Map<number, PendingSearch>();
  private readonly statsWaiters = new Map<number, (stats: MirrorStats[]) => void>();
  private nextReq = 1;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly opts: SearcherPoolOptions = {}) {
    this.log = opts.logger ?? createLogger('query');
    this.resolver = new HitResolver(this.log);
  }

  /**
   * Connects, reads the index layout and starts the workers (later, if no index exists yet).
   * Serves index generation `namespace`, by default the active one.
   */
  async start(config: SearcherConfig, namespace?: string): Promise<void> {
    this.config = config;
    this.redis = createRedis(config, { name: 'loupe-query-searcher' });
    const ns = namespace ?? (await readGenerations(this.redis)).active;
    const layout = await readIndexLayout(this.redis, ns);
    if (layout) return this.startWorkers(layout);
    this.log.warn('no index layout in Redis yet; searchers start when the first object is indexed');
    const poll = setInterval(() => {
      readIndexLayout(this.redis!, ns).then(
        (l) => {
          if (!l || this.layoutValue || this.closed) return;
          clearInterval(poll);
          this.startWorkers(l);
        },
        (e) => this.log.warn({ err: String(e) }, 'reading the index layout failed'),
      );
    }, this.opts.layoutPollMs ?? 1000);
    poll.unref();
    this.timers.push(poll);
  }

  /** The index layout (bits, view plan, shards, model); null until an index exists. */
  layout(): IndexLayout | null {
    return this.layoutValue;
  }

  /** True when every shard's mirror is loaded and its worker alive. */
  ready(): boolean {
    return this.missing().length === 0;
  }

  /** What keeps the searchers from answering from their mirrors (empty when ready). */
  missing(): string[] {
    if (this.layoutValue === null) return ['the index has not been created yet (the first encoder creates it)'];
    return this.hosts.flatMap((h) =>
      !h.alive ? [`shard worker ${h.index} (shards ${h.shards.join(', ')}) is restarting`] : h.shards.filter((s) => !h.ready.has(s)).map((s) => `shard ${s} is still loading its mirror`),
    );
  }

  /** Shards whose mirror is loaded and whose worker is alive. */
  readyShards(): number[] {
    return this.hosts.flatMap((h) => (h.alive ? [...h.ready] : [])).sort((a, b) => a - b);
  }

  /** Resolves true once ready(), false after timeoutMs. */
  waitReady(timeoutMs: number): Promise<boolean> {
    return waitReady(() => this.ready(), timeoutMs, () => this.closed);
  }

  /**
   * Runs every query on every shard in parallel and merges per query. Waits up to timeoutMs
   * (default LOUPE_QUERY_TIMEOUT_MS) for the shards. Throws SearchInputError only for bad
   * queries (unknown level, wrong code length, bad k / maxDistance).
   */
  async search(queries: SearchQuery[], timeoutMs = this.config?.LOUPE_QUERY_TIMEOUT_MS ?? 2000): Promise<FanoutResult> {
    const t0 = Date.now();
    const layout = this.layoutValue;
    if (!layout) {
      const total = this.config?.LOUPE_SHARDS ?? 0;
      return { results: queries.map(() => []), shards: { total, ok: 0, failed: range(total) }, stale: false, tookMs: 0 };
    }
    const wire = queries.map((q) => validateQuery(q, layout));
    const { answers, failed, stale } = await this.searchShards(wire, this.owned, timeoutMs);
    const results = this.resolver.resolve(answers, wire, failed);
    const failedList = [...failed].sort((a, b) => a - b);
    const total = this.owned.length;
    return {
      results,
      shards: { total, ok: total - failedList.length, failed: failedList },
      stale: [...stale].some((s) => !failed.has(s)),
      tookMs: Date.now() - t0,
    };
  }

  /**
   * Runs validated queries (validateQuery) on `shards` and returns each shard's own answer, not
   * merged; a shard this pool does not own, or that misses the deadline, is in `failed`.
   */
  async searchShards(queries: WireQuery[], shards: number[], timeoutMs: number): Promise<ShardAnswers> {
    const failed = new Set<number>();
    const stale = new Set<number>();
    const answers = await this.fanOut(queries, shards, Date.now() + timeoutMs, failed, stale);
    return { answers, failed, stale };
  }

  /** Sum of the shards' mirror stats; a shard whose worker does not answer in timeoutMs has ok: false. */
  async stats(timeoutMs = 1000): Promise<SearcherStats> {
    const layout = this.layoutValue;
    const shards = layout ? this.owned : range(this.config?.LOUPE_SHARDS ?? 0);
    const got = new Map<number, MirrorStats>();
    await Promise.all(
      this.hosts.map(
        (host) =>
          new Promise<void>((resolve) => {
            const reqId = this.nextReq++;
            const timer = setTimeout(() => {
              this.statsWaiters.delete(reqId);
              resolve();
            }, timeoutMs);
            this.statsWaiters.set(reqId, (stats) => {
              clearTimeout(timer);
              this.statsWaiters.delete(reqId);
              for (const s of stats) got.set(s.shard, s);
              resolve();
            });
            if (!host.send({ type: 'stats', reqId }, [`stats:${reqId}`])) this.statsWaiters.get(reqId)!([]);
          }),
      ),
    );
    const list: ShardStats[] = shards.map((shard) => {
      const s = got.get(shard);
      return s
        ? { ...s, ok: true }
        : { shard, objects: 0, live: 0, deleted: 0, loadedAt: null, lastEventId: '', reloads: 0, ready: false, ok: false };
    });
    const sum = (f: (s: ShardStats) => number) => list.reduce((n, s) => n + f(s), 0);
    return {
      ready: this.ready(),
      objects: sum((s) => s.objects),
      live: sum((s) => s.live),
      deleted: sum((s) => s.deleted),
      workerRestarts: this.hosts.reduce((n, h) => n + h.restarts, 0),
      shards: list,
    };
  }

  /** Fault injection (failure tests, drills): ends the worker thread serving `shard`; it restarts. */
  async killWorker(shard: number): Promise<void> {
    await this.hostOfShard.get(shard)?.kill();
  }

  /** Fault injection: keeps the worker thread serving `shard` busy for `ms`, as a stuck scan would. */
  stallWorker(shard: number, ms: number): void {
    this.hostOfShard.get(shard)?.send({ type: 'stall', ms });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.hosts.map((h) => h.close()));
    for (const p of this.searches.values()) p.done();
    this.redis?.disconnect();
  }

  private startWorkers(layout: IndexLayout): void {
    if (this.closed) return;
    this.layoutValue = layout;
    // Shards a generation does not have (a range beyond its count) are simply not there to mirror.
    this.owned = this.opts.shards?.length ? this.opts.shards.filter((s) => s < layout.shards) : range(layout.shards);
    // One thread per core: the scan streams codes from memory, so a second thread per core only
    // time-slices with the first (bench:scale: the same p50, more RSS, slower load).
    const n = Math.max(1, Math.min(this.owned.length, this.opts.workers ?? availableParallelism()));
    const logLevel = this.config?.LOUPE_LOG_LEVEL ?? process.env.LOUPE_LOG_LEVEL ?? 'info';
    const redis = { REDIS_URL: this.config!.REDIS_URL, REDIS_CLUSTER_NODES: this.config!.REDIS_CLUSTER_NODES };
    const hugePages = this.config?.LOUPE_HUGE_PAGES ?? true;
    const nativeScan = this.config?.LOUPE_NATIVE_SCAN ?? true;
    for (let w = 0; w < n; w++) {
      const shards = this.owned.filter((_, i) => i % n === w);
      const host = new ShardWorkerHost(
        w,
        shards,
        { redis, layout, shards, logLevel, chunkBytes: this.opts.chunkBytes, blockMs: this.opts.blockMs, mihMinRecords: this.opts.mihMinRecords, hugePages, nativeScan },
        { message: (h, msg) => this.onMessage(msg), exit: (h) => this.onExit(h) },
        this.log,
      );
      this.hosts.push(host);
      for (const s of shards) this.hostOfShard.set(s, host);
      host.start();
    }
    const stuckMs = this.opts.stuckWorkerMs ?? Math.max(10_000, 5 * (this.config?.LOUPE_QUERY_TIMEOUT_MS ?? 2000));
    const watchdog = setInterval(() => {
      for (const h of this.hosts) {
        if (h.alive && h.oldestUnansweredMs() > stuckMs) {
          this.log.error({ worker: h.index, shards: h.shards, stuckMs }, 'shard worker stuck; terminating');
          void h.kill();
        }
      }
    }, Math.min(1000, stuckMs / 2));
    watchdog.unref();
    this.timers.push(watchdog);
    this.log.info({ shards: layout.shards, owned: this.owned.length, workers: n, hugePages: hugePages && nativeAddonLoaded, nativeScan: nativeScan && nativePopcountScan() !== null }, 'shard searchers starting');
  }

  private fanOut(queries: WireQuery[], shards: number[], deadline: number, failed: Set<number>, stale: Set<number>): Promise<Map<number, ShardAnswer>> {
    const reqId = this.nextReq++;
    const answers = new Map<number, ShardAnswer>();
    const waiting = new Set<number>();
    const packed = packCodes(queries);
    const byHost = new Map<ShardWorkerHost, number[]>();
    for (const s of shards) {
      const host = this.hostOfShard.get(s);
      if (host?.ready.has(s)) byHost.set(host, [...(byHost.get(host) ?? []), s]);
      else failed.add(s);
    }
    // A message per thread, not per shard: each is a structured clone of the queries.
    for (const [host, mine] of byHost) {
      const sent = host.send({ type: 'search', reqId, shards: mine, queries: packed }, mine.map((s) => `${reqId}:${s}`));
      for (const s of mine) (sent ? waiting : failed).add(s);
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.searches.delete(reqId);
        for (const s of waiting) failed.add(s);
        resolve(answers);
      };
      const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
      this.searches.set(reqId, { waiting, answers, failed, stale, done: finish });
      if (!waiting.size) finish();
    });
  }

  private onMessage(msg: FromWorker): void {
    if (msg.type === 'result') {
      const p = this.searches.get(msg.reqId);
      if (!p || !p.waiting.delete(msg.shard)) return; // a late answer after the deadline
      if (msg.answer) {
        p.answers.set(msg.shard, msg.answer);
        if (msg.stale) p.stale.add(msg.shard);
      } else {
        p.failed.add(msg.shard);
        this.log.warn({ shard: msg.shard, err: msg.error }, 'shard search failed');
      }
      if (!p.waiting.size) p.done();
    } else if (msg.type === 'stats') this.statsWaiters.get(msg.reqId)?.(msg.stats);
    else if (msg.type === 'load-failed') this.log.warn({ shard: msg.shard, err: msg.error }, 'shard load failed');
  }

  /** A dead worker's shards fail every search waiting on them right away. */
  private onExit(host: ShardWorkerHost): void {
    for (const p of [...this.searches.values()]) {
      for (const s of host.shards) if (p.waiting.delete(s)) p.failed.add(s);
      if (!p.waiting.size) p.done();
    }
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
