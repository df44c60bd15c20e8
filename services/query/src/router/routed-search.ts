import type { SearcherRegistration } from '@loupe/shared';
import type { ShardAnswer } from '../searcher/shard-answer-codec.ts';
import type { WireQuery } from '../searcher/worker-protocol.ts';
import type { SearcherRpcClient } from '../searcher-rpc/searcher-rpc-client.ts';
import type { ShardReply } from '../searcher-rpc/shard-rpc-codec.ts';

export interface RoutedSearchDeps {
  generation: string;
  queries: WireQuery[];
  /** Searchers holding a shard, in the order to ask them. */
  replicas(shard: number): SearcherRegistration[];
  client(address: string): SearcherRpcClient;
  /** A call that failed for want of the searcher (not cancelled by us): the router stops preferring it. */
  failed(searcher: SearcherRegistration, error: Error): void;
  /** Duration of a call that answered. */
  answered(ms: number): void;
}

export interface RoutedOutcome {
  answers: Map<number, ShardAnswer>;
  failed: Set<number>;
  stale: Set<number>;
  /** Calls sent (first tries, hedges and failovers). */
  calls: number;
  /** Shards asked of a second replica because the first was slow. */
  hedged: number;
  /** Shards asked of another replica because theirs failed. */
  failedOver: number;
  /** The longest a searcher said it spent on a call of this search (Server-Timing); 0 when none said. */
  slowestSearcherMs: number;
}

/**
 * One query's fan-out over searcher processes. Each shard goes to the first of its replicas, the
 * shards bound for one searcher in one call. A shard whose searcher fails (refused, reset, an
 * error for that shard) goes to its next replica at once; a shard still unanswered after
 * `hedgeMs` is asked of its next replica too, and the first answer wins. At the deadline, or when
 * every shard has answered or run out of replicas, the calls still running are cancelled. A shard
 * fails only when no replica answered.
 */
export class RoutedSearch {
  private readonly answers = new Map<number, ShardAnswer>();
  private readonly stale = new Set<number>();
  private readonly tried = new Map<number, Set<string>>();
  private readonly inFlight = new Map<number, number>();
  private readonly controllers = new Set<AbortController>();
  private calls = 0;
  private hedged = 0;
  private failedOver = 0;
  /** The longest time a searcher said it took on a call answered before the search finished. */
  private slowestSearcherMs = 0;
  private finished = false;
  private resolve: () => void = () => undefined;

  constructor(
    private readonly deps: RoutedSearchDeps,
    private readonly shards: number[],
    private readonly deadline: number,
  ) {}

  run(hedgeMs: number): Promise<RoutedOutcome> {
    const done = new Promise<void>((r) => (this.resolve = r));
    const deadlineTimer = setTimeout(() => this.finish(), Math.max(0, this.deadline - Date.now()));
    const hedgeTimer = setTimeout(() => (this.hedged += this.dispatch(this.unanswered().filter((s) => (this.inFlight.get(s) ?? 0) <= 1))), hedgeMs);
    this.dispatch(this.shards);
    this.checkDone();
    return done.then(() => {
      clearTimeout(deadlineTimer);
      clearTimeout(hedgeTimer);
      const failed = new Set(this.shards.filter((s) => !this.answers.has(s)));
      return { answers: this.answers, failed, stale: this.stale, calls: this.calls, hedged: this.hedged, failedOver: this.failedOver, slowestSearcherMs: this.slowestSearcherMs };
    });
  }

  private unanswered(): number[] {
    return this.shards.filter((s) => !this.answers.has(s));
  }

  /** Sends each shard to its next untried replica, grouped into one call per searcher; returns how many shards were sent. */
  private dispatch(shards: number[]): number {
    if (this.finished) return 0;
    let sent = 0;
    const groups = new Map<string, { searcher: SearcherRegistration; shards: number[] }>();
    for (const shard of shards) {
      if (this.answers.has(shard)) continue;
      const tried = this.tried.get(shard) ?? new Set<string>();
      this.tried.set(shard, tried);
      const next = this.deps.replicas(shard).find((r) => !tried.has(r.id));
      if (!next) continue;
      tried.add(next.id);
      sent++;
      this.inFlight.set(shard, (this.inFlight.get(shard) ?? 0) + 1);
      const group = groups.get(next.id) ?? { searcher: next, shards: [] };
      group.shards.push(shard);
      groups.set(next.id, group);
    }
    for (const { searcher, shards: group } of groups.values()) this.call(searcher, group);
    return sent;
  }

  private call(searcher: SearcherRegistration, shards: number[]): void {
    const controller = new AbortController();
    this.controllers.add(controller);
    this.calls++;
    const started = performance.now();
    const timeoutMs = Math.max(1, this.deadline - Date.now());
    // Inside a promise: an address that cannot even be dialled fails this call, not the query.
    Promise.resolve()
      .then(() => this.deps.client(searcher.address).search({ generation: this.deps.generation, timeoutMs, shards, queries: this.deps.queries }, controller.signal))
      .then(
        ({ replies, searcherMs }) => {
          this.deps.answered(performance.now() - started);
          if (searcherMs !== undefined && !this.finished) this.slowestSearcherMs = Math.max(this.slowestSearcherMs, searcherMs);
          this.settle(shards, replies);
        },
        (e: Error) => {
          if (!controller.signal.aborted) this.deps.failed(searcher, e);
          this.settle(shards, []);
        },
      )
      .finally(() => this.controllers.delete(controller));
  }

  /** Takes a call's answers; its shards without one go to their next replica. */
  private settle(shards: number[], replies: ShardReply[]): void {
    for (const s of shards) this.inFlight.set(s, (this.inFlight.get(s) ?? 1) - 1);
    if (this.finished) return;
    for (const reply of replies) {
      if ('error' in reply || this.answers.has(reply.shard) || !shards.includes(reply.shard)) continue;
      this.answers.set(reply.shard, reply.answer);
      if (reply.stale) this.stale.add(reply.shard);
    }
    this.failedOver += this.dispatch(shards.filter((s) => !this.answers.has(s) && (this.inFlight.get(s) ?? 0) === 0));
    this.checkDone();
  }

  /** Done when every shard has an answer or nothing more is running or left to try for it. */
  private checkDone(): void {
    if (this.unanswered().every((s) => (this.inFlight.get(s) ?? 0) === 0)) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const c of this.controllers) c.abort();
    this.resolve();
  }
}
