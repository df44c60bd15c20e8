import { scanTopK } from '@loupe/shared';

/** A record (object id * viewsAtLevel + view) and its Hamming distance to the query. */
export interface RecordHit {
  record: number;
  distance: number;
}

/**
 * The one place the searchers call the Hamming kernel: the k nearest records, sorted by
 * (distance, record), skipping records whose object is deleted. Swapping in a faster kernel with
 * the same contract is a change here only.
 */
export function nearestRecords(
  codes: Uint8Array,
  count: number,
  codeBytes: number,
  query: Uint8Array,
  k: number,
  maxDistance: number | undefined,
  skip: (record: number) => boolean,
): RecordHit[] {
  return scanTopK(codes, count, codeBytes, query, { k, maxDistance, skip });
}
