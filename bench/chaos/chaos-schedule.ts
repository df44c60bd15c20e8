import type { SeededRandom } from '@loupe/shared';
import type { TcpFault } from './tcp-fault-proxy.ts';

/** What a chaos run does, and how often, in one window of time. */
export interface ChaosPlan {
  /** SIGKILLs: every service at least once, then random ones. `kill` is false if none was running. */
  kills: { count: number; services: string[]; kill: (service: string) => boolean };
  /** Redis crashes, each followed by a restart after `downMs`. */
  redisRestarts: { count: number; restart: (downMs: number) => Promise<void> };
  /** A reset or stall of a random Redis connection about every `everyMs`; false if none was open. */
  redisFaults: { everyMs: number; inject: (fault: TcpFault) => boolean };
  uploads: { count: number; upload: (i: number) => Promise<void> };
  deletes: { count: number; remove: () => Promise<void> };
  overwrites: { count: number; overwrite: (i: number) => Promise<void> };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a ChaosPlan: each action at a random moment of the window (kills and bucket changes
 * uniformly in it, Redis restarts spread out so two never overlap), all of them concurrently.
 */
export class ChaosSchedule {
  kills = 0;
  redisRestarts = 0;
  redisFaults = 0;

  constructor(
    private readonly random: SeededRandom,
    private readonly say: (line: string) => void,
  ) {}

  async run(windowMs: number, plan: ChaosPlan): Promise<void> {
    const start = Date.now();
    const at = (fraction: number) => sleep(Math.max(0, start + fraction * windowMs - Date.now()));
    const within = (lo: number, hi: number) => this.random.uniform(lo, hi);
    const actions: Promise<void>[] = [];
    const order = this.shuffled(plan.kills.services);
    for (let i = 0; i < plan.kills.count; i++) {
      const service = order[i] ?? order[this.random.below(order.length)];
      actions.push(at(within(0.05, 0.9)).then(() => this.kill(service, plan.kills.kill)));
    }
    for (let i = 0; i < plan.redisRestarts.count; i++) {
      const slot = (i + within(0.25, 0.75)) / plan.redisRestarts.count;
      actions.push(at(slot * 0.9).then(async () => {
        const downMs = Math.round(within(1000, 4000));
        this.say(`Redis: kill -9, back in ${downMs} ms`);
        await plan.redisRestarts.restart(downMs);
        this.redisRestarts++;
      }));
    }
    for (let i = 0; i < plan.uploads.count; i++) actions.push(at(within(0, 0.8)).then(() => plan.uploads.upload(i)));
    for (let i = 0; i < plan.deletes.count; i++) actions.push(at(within(0.1, 0.85)).then(() => plan.deletes.remove()));
    for (let i = 0; i < plan.overwrites.count; i++) actions.push(at(within(0.1, 0.85)).then(() => plan.overwrites.overwrite(i)));
    actions.push(this.redisFaultLoop(start + windowMs, plan.redisFaults));
    await Promise.all(actions);
  }

  private async kill(service: string, kill: (service: string) => boolean): Promise<void> {
    // A service between a crash and its restart cannot be killed: try again shortly.
    for (let attempt = 0; attempt < 20; attempt++) {
      if (kill(service)) {
        this.kills++;
        this.say(`kill -9 ${service}`);
        return;
      }
      await sleep(500);
    }
  }

  private async redisFaultLoop(until: number, faults: ChaosPlan['redisFaults']): Promise<void> {
    while (Date.now() < until) {
      await sleep(faults.everyMs * (0.5 + this.random.next()));
      if (faults.inject(this.random.next() < 0.5 ? 'reset' : 'stall')) this.redisFaults++;
    }
  }

  private shuffled<T>(items: T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.random.below(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
