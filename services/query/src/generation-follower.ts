import { randomUUID } from 'node:crypto';
import { forgetServing, GENERATION_DRAIN_MS, isRedisConnectionError, readGenerations, reportServing, type Logger, type RedisClient } from '@loupe/shared';
import type { RedisStatus } from './query.service.ts';
import type { ServingGeneration } from './serving-generation.ts';

/** What the follower needs of a generation it serves: the query service's, or a searcher process's. */
export interface FollowedGeneration {
  readonly namespace: string;
  readonly layout: { model: string; bits: number };
  readonly pool: { waitReady(timeoutMs: number): Promise<boolean> };
  close(): Promise<void>;
}

export interface GenerationFollowerOptions {
  /** How often the active generation is read (one HGETALL). */
  pollMs?: number;
  /** How long a new generation's searchers may take to load before the switch is retried. */
  readyTimeoutMs?: number;
  /** The old generation is closed this long after the switch, so searches in flight finish. */
  graceMs?: number;
  /** Name in the serving registry (default a random UUID); a searcher's says it is one. */
  instance?: string;
}

/**
 * Keeps the query service on the active index generation: when a rollout promotes another one,
 * opens it beside the current one (model loaded, mirrors loaded), switches new requests to it,
 * then closes the old one. Requests never wait for a switch.
 */
export class GenerationFollower<G extends FollowedGeneration = ServingGeneration> {
  private timer: NodeJS.Timeout | null = null;
  private switching: Promise<void> | null = null;
  private closed = false;
  private readonly retiring = new Set<G>();
  /** A generation being loaded by a switch (closed by close(), which ends the wait for it). */
  private opening: G | null = null;
  /** This instance in the serving registry (a rollout waits for every instance to switch). */
  private readonly instance: string;

  constructor(
    private currentValue: G,
    private readonly open: (namespace: string) => Promise<G>,
    private readonly redis: RedisClient,
    private readonly redisStatus: RedisStatus,
    private readonly log: Logger,
    private readonly opts: GenerationFollowerOptions = {},
  ) {
    this.instance = opts.instance ?? randomUUID();
  }

  get current(): G {
    return this.currentValue;
  }

  /** Every generation open now: the current one, one being loaded for a switch, ones being retired. */
  held(): G[] {
    return [this.currentValue, ...(this.opening ? [this.opening] : []), ...this.retiring];
  }

  start(): void {
    const tick = () => {
      // Nothing to follow while Redis is unreachable: requests stay on the current generation
      // (the outage itself is logged once, by RedisHealth).
      if (!this.redisStatus.up) return;
      // The heartbeat goes on while a switch loads: it names the generation requests use now.
      reportServing(this.redis, this.instance, this.currentValue.namespace).catch((e) => this.logFailure(e, 'serving heartbeat failed', 'warn'));
      void this.check();
    };
    this.timer = setInterval(tick, this.opts.pollMs ?? 1000);
    this.timer.unref();
    tick();
  }

  /** Follows the active generation once (also called by the poll). */
  check(): Promise<void> {
    if (this.switching || this.closed) return this.switching ?? Promise.resolve();
    this.switching = this.follow()
      .catch((e) => this.logFailure(e, 'switching index generation failed; will retry'))
      .finally(() => (this.switching = null));
    return this.switching;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.opening?.close();
    await this.switching;
    await forgetServing(this.redis, this.instance).catch(() => undefined);
    await Promise.all([this.currentValue, ...this.retiring].map((g) => g.close()));
  }

  /** A failure that is Redis going away is the outage RedisHealth reports, not an error of its own. */
  private logFailure(e: unknown, message: string, level: 'warn' | 'error' = 'error'): void {
    this.log[isRedisConnectionError(e) ? 'debug' : level]({ err: String(e) }, message);
  }

  private async follow(): Promise<void> {
    const { active } = await readGenerations(this.redis);
    if (active === this.currentValue.namespace) return;
    const t0 = Date.now();
    this.log.info({ from: this.currentValue.namespace, to: active }, 'index generation changed, loading it');
    const next = (this.opening = await this.open(active));
    const ready = await next.pool.waitReady(this.opts.readyTimeoutMs ?? 10 * 60_000);
    this.opening = null;
    if (!ready || this.closed) {
      await next.close();
      if (!this.closed) throw new Error(`searchers of generation ${active} did not load in time`);
      return;
    }
    const old = this.currentValue;
    this.currentValue = next;
    await reportServing(this.redis, this.instance, next.namespace);
    this.log.info({ generation: active, model: next.layout.model, bits: next.layout.bits, ms: Date.now() - t0 }, 'now serving index generation');
    this.retiring.add(old);
    const retire = () => {
      if (!this.retiring.delete(old)) return;
      old.close().catch((e) => this.log.warn({ err: String(e) }, 'closing the old generation failed'));
    };
    setTimeout(retire, this.opts.graceMs ?? GENERATION_DRAIN_MS).unref();
  }
}
