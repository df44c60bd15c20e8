import { Worker } from 'node:worker_threads';
import { HammingScanner, MultiIndexHash, type ScanHit } from '../../packages/shared/src/search/index.ts';
import { SplitChannel, type SplitWorkerData } from './split-channel.ts';

/**
 * Exact k-NN over one index split in two halves on the machine's 2 cores: the main thread
 * searches the lower half while a worker thread searches the upper half (each with its own
 * HammingScanner + MultiIndexHash, choosing MIH or a scan by the cost model), then the two top-k
 * lists are merged by (distance, record). The same split the query service makes with 2 shards
 * on 2 worker threads, without its postMessage and Redis id lookups.
 */
export class SplitKnn {
  private readonly scanner: HammingScanner;
  private readonly mih: MultiIndexHash;
  private readonly channel: SplitChannel;
  private readonly worker: Worker;
  /** Halves (of 2) answered by MIH in the last search. */
  lastMihHalves = 0;

  constructor(codes: Uint8Array, codeBytes: number) {
    const count = codes.length / codeBytes;
    const half = Math.ceil(count / 2 / 16) * 16;
    this.scanner = new HammingScanner(codeBytes, { capacity: half });
    this.scanner.append(codes.subarray(0, half * codeBytes));
    this.mih = MultiIndexHash.fromScanner(this.scanner);
    const shared = SplitChannel.create();
    this.channel = new SplitChannel(shared, codeBytes);
    const data: SplitWorkerData = { shared, codes: codes.slice(half * codeBytes), codeBytes, firstRecord: half };
    this.worker = new Worker(new URL('./split-knn-worker.mjs', import.meta.url), { workerData: data });
  }

  /** Resolves once the worker has built its half (call once before timing). */
  async ready(): Promise<void> {
    let failure: unknown = null;
    this.worker.once('error', (e) => (failure = e));
    while (!this.channel.isReady()) {
      if (failure) throw failure;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  search(query: Uint8Array, k: number, strategy: 'auto' | 'mih' | 'scan' = 'auto'): ScanHit[] {
    this.channel.send(query, k, strategy);
    const mine = this.mih.search(query, { k, strategy });
    const mineMih = this.mih.lastSearch?.strategy === 'mih';
    const theirs = this.channel.receive();
    this.lastMihHalves = (mineMih ? 1 : 0) + (theirs.usedMih ? 1 : 0);
    return mergeTopK(mine, theirs.hits, k);
  }

  async close(): Promise<void> {
    this.channel.stop();
    await this.worker.terminate();
  }
}

function mergeTopK(a: ScanHit[], b: ScanHit[], k: number): ScanHit[] {
  const out: ScanHit[] = [];
  let i = 0;
  let j = 0;
  while (out.length < k && (i < a.length || j < b.length)) {
    const takeA = j >= b.length || (i < a.length && (a[i].distance < b[j].distance || (a[i].distance === b[j].distance && a[i].record < b[j].record)));
    out.push(takeA ? a[i++] : b[j++]);
  }
  return out;
}
