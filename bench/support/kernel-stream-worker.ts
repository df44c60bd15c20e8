/**
 * One of the threads of kernel-speed.ts's two-thread measure: fills its own 256 MiB of codes, waits
 * at a barrier until every thread has filled its own, then times its scans and posts their median
 * ns per record. Started through startTsWorker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { streamingScanner, medianNsPerRecord } from './kernel-scan.ts';

const { barrier, threads, scans } = workerData as { barrier: SharedArrayBuffer; threads: number; scans: number };
const scanner = streamingScanner();
const arrived = new Int32Array(barrier);
Atomics.add(arrived, 0, 1);
Atomics.notify(arrived, 0);
for (let seen = Atomics.load(arrived, 0); seen < threads; seen = Atomics.load(arrived, 0)) Atomics.wait(arrived, 0, seen);
parentPort!.postMessage(medianNsPerRecord(scanner, scans));
