import { randomFillSync } from 'node:crypto';
import { HammingScanner } from '@loupe/shared/searcher-core';

const CODE_BYTES = 32;
/** 2 MiB of 256-bit codes: a level that stays in the caches. */
export const CACHED_RECORDS = 65_536;
/** 256 MiB: a level that streams from memory. */
export const STREAMED_RECORDS = 8_388_608;

/** A scanner holding `records` random 256-bit codes, warmed by a few scans. */
export function streamingScanner(records = STREAMED_RECORDS): HammingScanner {
  const scanner = new HammingScanner(CODE_BYTES, { capacity: records });
  scanner.append(randomFillSync(new Uint8Array(records * CODE_BYTES)));
  const query = randomFillSync(new Uint8Array(CODE_BYTES));
  for (let i = 0; i < 3; i++) scanner.search(query, { k: 10 });
  return scanner;
}

/** Median ns per record of `scans` k=10 scans over every record, each with another query. */
export function medianNsPerRecord(scanner: HammingScanner, scans: number): number {
  const query = randomFillSync(new Uint8Array(CODE_BYTES));
  const times: number[] = [];
  for (let i = 0; i < scans; i++) {
    query[i % CODE_BYTES] ^= 0xff;
    const t = performance.now();
    scanner.search(query, { k: 10 });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return (times[Math.floor(scans / 2)] * 1e6) / scanner.count;
}
