import { isRedisConnectionError, liveSearchers, type Logger, type RedisClient, type SearcherRegistration } from '@loupe/shared';

export interface SearcherDirectoryOptions {
  /** How often the registry is read (the searchers' heartbeat interval). */
  pollMs: number;
  /** How long a searcher whose call failed is tried only after every other replica. */
  downMs?: number;
  /** Called for a searcher that left the registry (its connection can go). */
  left?: (searcher: SearcherRegistration) => void;
}

/**
 * The router's view of the searcher registry: which searcher holds which shard of which index
 * generation, ready to answer. Re-read every heartbeat interval, so a new searcher is used once it
 * has registered its loaded shards, and one whose registration expired is dropped. A searcher whose
 * call just failed (refused, reset, timed out) goes to the back of its shards' replica lists at
 * once, without waiting for its registration to expire.
 */
export class SearcherDirectory {
  private searchers: SearcherRegistration[] = [];
  private readonly down = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private loaded = false;
  private failing = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly log: Logger,
    private readonly opts: SearcherDirectoryOptions,
  ) {}

  /** Reads the registry once, then every pollMs. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.pollMs);
    this.timer.unref();
  }

  /** Whether the registry has been read at least once. */
  get known(): boolean {
    return this.loaded;
  }

  /**
   * Searchers holding `shard` of `generation` ready, those without a recent failure first, each
   * group rotated by `turn` (spreads requests over the replicas; equal turns give equal picks, so
   * one request's shards gather on few searchers).
   */
  replicas(generation: string, shard: number, turn = 0): SearcherRegistration[] {
    const now = Date.now();
    const holders = this.searchers.filter((s) => s.generations[generation]?.includes(shard));
    const healthy = holders.filter((s) => !((this.down.get(s.id) ?? 0) > now));
    const suspect = holders.filter((s) => (this.down.get(s.id) ?? 0) > now);
    return [...rotate(healthy, turn), ...suspect];
  }

  /** Sends searcher `id` to the back of the replica lists for a while (its call failed). */
  markDown(id: string): void {
    this.down.set(id, Date.now() + (this.opts.downMs ?? 2 * this.opts.pollMs));
  }

  /** Every live registration (for stats and tests). */
  list(): SearcherRegistration[] {
    return this.searchers;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    try {
      const list = await liveSearchers(this.redis);
      // Back from a Redis outage, registrations that expired meanwhile come back with the
      // searchers' next heartbeat: keep the last list's searchers one more read until they do.
      if (this.failing) for (const s of this.searchers) if (!list.some((x) => x.id === s.id)) list.push(s);
      list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const before = new Set(this.searchers.map((s) => s.id));
      const after = new Set(list.map((s) => s.id));
      for (const s of list) if (!before.has(s.id)) this.log.info({ searcher: s.id, address: s.address, shards: s.shards }, 'searcher registered');
      for (const s of this.searchers) {
        if (after.has(s.id)) continue;
        this.log.warn({ searcher: s.id, address: s.address }, 'searcher left the registry');
        if (!list.some((x) => x.address === s.address)) this.opts.left?.(s);
      }
      for (const id of this.down.keys()) if (!after.has(id)) this.down.delete(id);
      this.searchers = list;
      this.loaded = true;
      if (this.failing) this.log.info('searcher registry readable again');
      this.failing = false;
    } catch (e) {
      // Keeps the last list: searchers that were up are probably still up while Redis is away.
      if (!this.failing) this.log[isRedisConnectionError(e) ? 'warn' : 'error']({ err: String(e) }, 'reading the searcher registry failed; using the last list');
      this.failing = true;
    }
  }
}

function rotate<T>(list: T[], turn: number): T[] {
  if (list.length < 2) return list;
  const at = turn % list.length;
  return [...list.slice(at), ...list.slice(0, at)];
}
