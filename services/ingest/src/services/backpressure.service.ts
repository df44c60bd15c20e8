import type { Queue } from 'bullmq';
import type { Logger } from '@loupe/shared';

/** Raised to jobs waiting for room when ingest shuts down. */
export class BackpressureClosedError extends Error {
  constructor() {
    super('ingest is shutting down');
    this.name = 'BackpressureClosedError';
  }
}

export interface BackpressureOptions {
  /** Most jobs the encode queue may hold waiting (LOUPE_ENCODE_BACKLOG). */
  bound: number;
  /** Poll interval of the backlog while backpressure is on. */
  pollMs: number;
  /** Called when backpressure switches on (true) or off (false), e.g. to pause the worker. */
  onChange?: (on: boolean) => void;
}

/**
 * Keeps the encode queue's backlog (waiting + prioritized + paused + delayed jobs) at or under a
 * bound, so a stopped encoder fleet never fills Redis. Every ingest job takes a slot with
 * acquire() before doing any work and releases it once its encode job is added (or it failed).
 * A slot is granted only while backlog + slots in use < bound, checked one at a time, so one
 * process never overshoots; N ingest processes can overshoot by at most N-1 x concurrency.
 * Once on, backpressure stays on until the backlog drops to 80% of the bound (no flapping).
 */
export class BackpressureService {
  private on = false;
  private closed = false;
  private inUse = 0;
  private waiters: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  private checking: Promise<unknown> = Promise.resolve();
  private readonly lowWater: number;

  constructor(
    private readonly encodeQueue: Queue,
    private readonly opts: BackpressureOptions,
    private readonly logger: Logger,
  ) {
    this.lowWater = Math.floor(opts.bound * 0.8);
  }

  get active(): boolean {
    return this.on;
  }

  async backlog(): Promise<number> {
    const c = await this.encodeQueue.getJobCounts('waiting', 'prioritized', 'paused', 'delayed');
    return (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.paused ?? 0) + (c.delayed ?? 0);
  }

  /** Waits for room for one more encode job; returns the function that frees the slot. */
  async acquire(): Promise<() => void> {
    for (;;) {
      if (this.closed) throw new BackpressureClosedError();
      if (!this.on && (await this.tryTake())) {
        let released = false;
        return () => {
          if (!released) this.inUse--;
          released = true;
        };
      }
      if (this.closed) throw new BackpressureClosedError();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Checks and takes a slot atomically with respect to the other callers in this process. */
  private tryTake(): Promise<boolean> {
    const check = this.checking.then(async () => {
      if (this.on || this.closed) return false;
      const backlog = await this.backlog();
      if (backlog + this.inUse < this.opts.bound) {
        this.inUse++;
        return true;
      }
      this.switchOn(backlog);
      return false;
    });
    this.checking = check.catch(() => undefined);
    return check;
  }

  private switchOn(backlog: number): void {
    if (this.on) return;
    this.on = true;
    this.logger.warn({ event: 'backpressure', on: true, backlog, inFlight: this.inUse, bound: this.opts.bound },
      'backpressure on: encode backlog full, ingest paused');
    this.opts.onChange?.(true);
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs);
  }

  private async poll(): Promise<void> {
    let backlog: number;
    try {
      backlog = await this.backlog();
    } catch (e) {
      this.logger.error({ err: e }, 'cannot read the encode backlog');
      return;
    }
    if (!this.on || backlog > this.lowWater) return;
    this.on = false;
    clearInterval(this.timer);
    this.logger.info({ event: 'backpressure', on: false, backlog, bound: this.opts.bound }, 'backpressure off: ingest resumed');
    this.opts.onChange?.(false);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Stops polling and makes every waiting acquire() throw BackpressureClosedError. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.wake();
  }
}
