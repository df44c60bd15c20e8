import type { ScanHit } from '../../packages/shared/src/search/index.ts';

export interface SplitWorkerData {
  shared: SharedArrayBuffer;
  codes: Uint8Array;
  codeBytes: number;
  /** Record number of the worker's first code in the whole index. */
  firstRecord: number;
}

const MAX_K = 1024;
// Int32 slots of the control block.
const REQ = 0;
const DONE = 1;
const K = 2;
const STRATEGY = 3;
const COUNT = 4;
const READY = 5;
const USED_MIH = 6;
const HITS = 8; // then (record, distance) pairs
const STRATEGIES = ['auto', 'mih', 'scan'] as const;

/** Spin this long for the other side before sleeping in Atomics.wait (back-to-back queries). */
const SPIN_MS = 0.2;

/**
 * A request/answer channel between the main thread and one worker over a SharedArrayBuffer:
 * the query and the hits are written in place and signalled with Atomics, no postMessage (which
 * costs tens of microseconds a round trip), so splitting a 1M-code search pays off.
 */
export class SplitChannel {
  private readonly ctrl: Int32Array;
  private readonly query: Uint8Array;
  private seq = 0;

  constructor(
    readonly shared: SharedArrayBuffer,
    private readonly codeBytes: number,
  ) {
    this.ctrl = new Int32Array(shared, 0, HITS + 2 * MAX_K);
    this.query = new Uint8Array(shared, 4 * (HITS + 2 * MAX_K), 32);
  }

  static create(): SharedArrayBuffer {
    return new SharedArrayBuffer(4 * (HITS + 2 * MAX_K) + 32);
  }

  // -- main thread side
  send(query: Uint8Array, k: number, strategy: (typeof STRATEGIES)[number]): void {
    if (k > MAX_K) throw new RangeError(`k above ${MAX_K}`);
    this.query.set(query);
    Atomics.store(this.ctrl, K, k);
    Atomics.store(this.ctrl, STRATEGY, STRATEGIES.indexOf(strategy));
    Atomics.store(this.ctrl, REQ, ++this.seq);
    Atomics.notify(this.ctrl, REQ);
  }

  /** Waits for the answer to the last send(); hits' records are in whole-index numbering. */
  receive(): { hits: ScanHit[]; usedMih: boolean } {
    waitFor(this.ctrl, DONE, this.seq);
    const n = this.ctrl[COUNT];
    const hits: ScanHit[] = new Array(n);
    for (let i = 0; i < n; i++) hits[i] = { record: this.ctrl[HITS + 2 * i], distance: this.ctrl[HITS + 2 * i + 1] };
    return { hits, usedMih: this.ctrl[USED_MIH] === 1 };
  }

  stop(): void {
    Atomics.store(this.ctrl, REQ, -1);
    Atomics.notify(this.ctrl, REQ);
  }

  isReady(): boolean {
    return Atomics.load(this.ctrl, READY) === 1;
  }

  // -- worker side
  ready(): void {
    Atomics.store(this.ctrl, READY, 1);
    Atomics.notify(this.ctrl, READY);
  }

  nextRequest(): { query: Uint8Array; k: number; strategy: (typeof STRATEGIES)[number] } | null {
    const want = this.seq + 1;
    for (;;) {
      const v = Atomics.load(this.ctrl, REQ);
      if (v === -1) return null;
      if (v >= want) break;
      waitFor(this.ctrl, REQ, want, true);
    }
    this.seq = Atomics.load(this.ctrl, REQ);
    return { query: this.query.slice(0, this.codeBytes), k: this.ctrl[K], strategy: STRATEGIES[this.ctrl[STRATEGY]] };
  }

  answer(hits: ScanHit[], firstRecord: number, usedMih: boolean): void {
    this.ctrl[COUNT] = hits.length;
    this.ctrl[USED_MIH] = usedMih ? 1 : 0;
    hits.forEach((h, i) => {
      this.ctrl[HITS + 2 * i] = h.record + firstRecord;
      this.ctrl[HITS + 2 * i + 1] = h.distance;
    });
    Atomics.store(this.ctrl, DONE, this.seq);
    Atomics.notify(this.ctrl, DONE);
  }
}

/** Spins briefly, then sleeps, until ctrl[slot] >= value (or is -1 when `stopable`). */
function waitFor(ctrl: Int32Array, slot: number, value: number, stopable = false): void {
  const spinUntil = performance.now() + SPIN_MS;
  for (;;) {
    const v = Atomics.load(ctrl, slot);
    if (v >= value || (stopable && v === -1)) return;
    if (performance.now() < spinUntil) continue;
    Atomics.wait(ctrl, slot, v, 50);
  }
}
