/**
 * The scan kernel alone, as a yardstick for the machine of a run: nanoseconds per 256-bit record
 * and probe on one thread, for a level that stays in the caches (2 MiB) and one that streams from
 * memory (256 MiB), and the streaming figure again with two threads scanning at once (one per
 * core: what the searchers' threads get together). This VM's speed moves from day to day (the same
 * code has scanned 1 to 2.5 ns a record in cache), so a benchmark's times are read against the
 * yardstick of the same run.
 * Runs in a child process: the kernel's memory never shrinks, and the caller measures its own RSS.
 */
import { startTsWorker } from '../../services/query/src/ts-worker.ts';
import { answerAsChild, resultOfChild } from './child-result.ts';
import { CACHED_RECORDS, medianNsPerRecord, streamingScanner } from './kernel-scan.ts';

export interface KernelSpeed {
  /** Median ns per record of a k=10 scan, 2 MiB of codes (65,536 records). */
  cacheNs: number;
  /** The same over 256 MiB (8,388,608 records). */
  streamNs: number;
  /** streamNs of each of two threads scanning their own 256 MiB at the same time (their mean). */
  pairStreamNs: number;
}

const PAIR = 2;

/** Each of PAIR threads' median ns per record while all of them stream (kernel-stream-worker.ts). */
async function pairStreamNs(scans: number): Promise<number> {
  const barrier = new SharedArrayBuffer(4);
  const medians = await Promise.all(
    Array.from(
      { length: PAIR },
      () =>
        new Promise<number>((resolve, reject) => {
          const worker = startTsWorker(new URL('./kernel-stream-worker.ts', import.meta.url), { workerData: { barrier, threads: PAIR, scans } });
          worker.once('message', (ns: number) => void worker.terminate().then(() => resolve(ns)));
          worker.once('error', reject);
        }),
    ),
  );
  return medians.reduce((a, b) => a + b, 0) / PAIR;
}

export function measureKernelSpeed(): Promise<KernelSpeed> {
  return resultOfChild(import.meta.url);
}

await answerAsChild(
  import.meta.url,
  async (): Promise<KernelSpeed> => ({
    cacheNs: medianNsPerRecord(streamingScanner(CACHED_RECORDS), 200),
    streamNs: medianNsPerRecord(streamingScanner(), 15),
    pairStreamNs: await pairStreamNs(15),
  }),
);
