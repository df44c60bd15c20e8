/**
 * The scan kernel alone, as a yardstick for the machine of a run: nanoseconds per 256-bit record
 * and probe on one thread, for a level that stays in the caches (2 MiB) and one that streams from
 * memory (256 MiB). This VM's speed moves from day to day (the same code has scanned 1 to 2.5 ns a
 * record in cache), so a benchmark's times are read against the yardstick of the same run.
 * Runs in a child process: the kernel's memory never shrinks, and the caller measures its own RSS.
 */
import { randomFillSync } from 'node:crypto';
import { HammingScanner } from '@loupe/shared/searcher-core';
import { answerAsChild, resultOfChild } from './child-result.ts';

export interface KernelSpeed {
  /** Median ns per record of a k=10 scan, 2 MiB of codes (65,536 records). */
  cacheNs: number;
  /** The same over 256 MiB (8,388,608 records). */
  streamNs: number;
}

const CODE_BYTES = 32;

function nsPerRecord(records: number, scans: number): number {
  const scanner = new HammingScanner(CODE_BYTES, { capacity: records });
  scanner.append(randomFillSync(new Uint8Array(records * CODE_BYTES)));
  const query = randomFillSync(new Uint8Array(CODE_BYTES));
  for (let i = 0; i < 3; i++) scanner.search(query, { k: 10 });
  const times: number[] = [];
  for (let i = 0; i < scans; i++) {
    query[i % CODE_BYTES] ^= 0xff;
    const t = performance.now();
    scanner.search(query, { k: 10 });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return (times[Math.floor(scans / 2)] * 1e6) / records;
}

export function measureKernelSpeed(): Promise<KernelSpeed> {
  return resultOfChild(import.meta.url);
}

await answerAsChild(import.meta.url, (): KernelSpeed => ({ cacheNs: nsPerRecord(65_536, 200), streamNs: nsPerRecord(8_388_608, 15) }));
