import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../ts-worker.ts';
import type { Logger } from '@loupe/shared';
import type { FromWorker, ShardWorkerData, ToWorker } from './worker-protocol.ts';

const WORKER_MODULE = new URL('./shard-worker.ts', import.meta.url);

export interface WorkerHostEvents {
  message(host: ShardWorkerHost, msg: FromWorker): void;
  /** The thread ended (crashed, was killed as stuck, or closed). */
  exit(host: ShardWorkerHost): void;
}

/**
 * Main-thread side of one shard worker thread: starts it, restarts it when it dies (with
 * backoff), and tracks the requests it has not answered yet so a stuck thread can be found.
 */
export class ShardWorkerHost {
  /** Shards of this worker whose mirror is loaded. */
  readonly ready = new Set<number>();
  restarts = 0;
  private worker: Worker | null = null;
  private readonly outstanding = new Map<string, number>();
  private closing = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly index: number,
    readonly shards: number[],
    private readonly data: ShardWorkerData,
    private readonly events: WorkerHostEvents,
    private readonly log: Logger,
  ) {}

  get alive(): boolean {
    return this.worker !== null;
  }

  start(): void {
    const worker = startTsWorker(WORKER_MODULE, { workerData: this.data });
    this.worker = worker;
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') {
        this.ready.add(msg.shard);
        this.failures = 0;
      } else if (msg.type === 'result') this.outstanding.delete(`${msg.reqId}:${msg.shard}`);
      else if (msg.type === 'stats') this.outstanding.delete(`stats:${msg.reqId}`);
      this.events.message(this, msg);
    });
    worker.on('error', (err) => this.log.error({ worker: this.index, shards: this.shards, err: String(err) }, 'shard worker crashed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.ready.clear();
      this.outstanding.clear();
      this.events.exit(this);
      if (this.closing) return;
      const delay = Math.min(250 * 2 ** this.failures++, 10_000);
      this.restarts++;
      this.log.warn({ worker: this.index, shards: this.shards, code, restartInMs: delay }, 'shard worker exited; restarting');
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.closing) this.start();
      }, delay);
      this.restartTimer.unref();
    });
  }

  /** Posts a message; `track` names the requests whose answers are awaited. False when no thread runs. */
  send(msg: ToWorker, track: string[] = []): boolean {
    if (!this.worker) return false;
    const now = Date.now();
    for (const t of track) this.outstanding.set(t, now);
    this.worker.postMessage(msg);
    return true;
  }

  /** Age in ms of the oldest request this worker has not answered (0 when none). */
  oldestUnansweredMs(now = Date.now()): number {
    let oldest = now;
    for (const t of this.outstanding.values()) if (t < oldest) oldest = t;
    return now - oldest;
  }

  /** Ends the thread abruptly; it is restarted like after a crash. */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.worker?.terminate();
  }
}
