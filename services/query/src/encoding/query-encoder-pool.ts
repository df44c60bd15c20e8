import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../ts-worker.ts';
import { ImageRejectedError, type ImageRejectReason, type Logger } from '@loupe/shared';
import type { EncodingTask, EncodingWorkerData, FromEncodingWorker, LoadedModel, TaskResult, WireError } from './encoding-protocol.ts';

const WORKER_MODULE = new URL('./encoding-worker.ts', import.meta.url);

/** No encoding thread can take the query soon: answered 503 with Retry-After. */
export class QueryOverloadedError extends Error {
  constructor(
    message: string,
    /** Seconds a client should wait before trying again. */
    readonly retryAfterS = 1,
  ) {
    super(message);
    this.name = 'QueryOverloadedError';
  }
}

export interface QueryEncoderPoolOptions {
  /** Encoding threads (LOUPE_QUERY_WORKERS). */
  workers: number;
  /** Tasks that may wait for a thread beyond those running (LOUPE_QUERY_QUEUE); more are refused. */
  maxQueued: number;
}

interface Pending {
  id: number;
  task: EncodingTask;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker | null;
  busy: Pending | null;
  /** Tasks for this thread only (model loads), taken before the shared queue. */
  pinned: Pending[];
  failures: number;
}

/**
 * Threads that encode image queries (decode, CNN forwards, head) and run the candidate check, so
 * the query service's event loop stays free for key and code searches, the fan-out and I/O. A
 * bounded queue in front: when every thread is busy and `maxQueued` tasks wait, an image query is
 * refused at once (QueryOverloadedError, 503) instead of waiting for seconds. Candidate checks of
 * queries already encoded jump the queue, so a query that got in finishes first. A thread that dies
 * fails its task and is restarted.
 */
export class QueryEncoderPool {
  private readonly slots: Slot[];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly data: EncodingWorkerData,
    private readonly options: QueryEncoderPoolOptions,
    private readonly log: Logger,
  ) {
    this.slots = Array.from({ length: options.workers }, () => ({ worker: null, busy: null, pinned: [], failures: 0 }));
    this.slots.forEach((slot) => this.spawn(slot));
  }

  /** Threads free to start a task now (none waiting): a query may then be split over them. */
  get idleThreads(): number {
    return this.queue.length ? 0 : this.slots.filter((s) => s.worker && !s.busy && !s.pinned.length).length;
  }

  /** Tasks waiting for a thread, and threads busy (for /metrics). */
  get usage(): { queued: number; busy: number; workers: number } {
    return { queued: this.queue.length, busy: this.slots.filter((s) => s.busy).length, workers: this.slots.length };
  }

  /** Loads a model in every thread (before a generation is served). */
  async load(modelRef: string): Promise<LoadedModel> {
    const results = await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise((resolve, reject) => {
            slot.pinned.push({ id: this.nextId++, task: { type: 'load', modelRef }, resolve, reject });
            this.dispatch();
          }),
      ),
    );
    return results[0] as LoadedModel;
  }

  /**
   * Queues a task for the next free thread. An encode is refused at once (QueryOverloadedError)
   * when every thread is busy and `maxQueued` tasks wait; a candidate check, part of a query already
   * taken, goes to the front instead.
   */
  run<T extends EncodingTask>(task: T): Promise<TaskResult<T>> {
    const urgent = task.type === 'rerank';
    if (this.closed) return Promise.reject(shuttingDown());
    if (!urgent && this.queue.length >= this.options.maxQueued && !this.slots.some((s) => s.worker && !s.busy)) {
      return Promise.reject(new QueryOverloadedError(`image queries saturated: ${this.slots.length} encoding threads busy and ${this.queue.length} queries waiting`));
    }
    return new Promise((resolve, reject) => {
      const p: Pending = { id: this.nextId++, task, resolve: resolve as (v: unknown) => void, reject };
      if (urgent) this.queue.unshift(p);
      else this.queue.push(p);
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.queue.splice(0), ...this.slots.flatMap((s) => s.pinned.splice(0))]) p.reject(shuttingDown());
    await Promise.all(this.slots.map(async (s) => {
      const w = s.worker;
      s.worker = null;
      await w?.terminate();
    }));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.worker || slot.busy) continue;
      const next = slot.pinned.shift() ?? this.queue.shift();
      if (next) this.start(slot, next);
    }
  }

  private start(slot: Slot, p: Pending): void {
    slot.busy = p;
    slot.worker!.postMessage({ id: p.id, task: p.task });
  }

  private spawn(slot: Slot): void {
    const worker = startTsWorker(WORKER_MODULE, { workerData: this.data });
    slot.worker = worker;
    worker.on('message', (msg: FromEncodingWorker) => {
      const p = slot.busy;
      if (!p || p.id !== msg.id) return;
      slot.busy = null;
      slot.failures = 0;
      if ('error' in msg) p.reject(fromWire(msg.error));
      else p.resolve(msg.result);
      this.dispatch();
    });
    worker.on('error', (err) => this.log.error({ err: String(err) }, 'query encoding thread crashed'));
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      const p = slot.busy;
      slot.busy = null;
      p?.reject(new QueryOverloadedError('the query encoding thread stopped; try again'));
      if (this.closed) return;
      const delay = Math.min(250 * 2 ** slot.failures++, 10_000);
      this.log.warn({ code, restartInMs: delay }, 'query encoding thread exited; restarting');
      setTimeout(() => {
        if (!this.closed) {
          this.spawn(slot);
          this.dispatch();
        }
      }, delay).unref();
    });
  }
}

function shuttingDown(): QueryOverloadedError {
  return new QueryOverloadedError('query service is shutting down');
}

/** The worker's error as the main thread's: image rejections keep their class (they map to 4xx). */
function fromWire(e: WireError): Error {
  if (e.name === 'ImageRejectedError' && e.reason) return new ImageRejectedError(e.reason as ImageRejectReason, e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}
