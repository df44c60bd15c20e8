import { hammingDistance } from '../code/bit-code.ts';

/** One scan result: record number in the packed array and its Hamming distance to the query. */
export interface ScanHit {
  record: number;
  distance: number;
}

export interface ScanOptions {
  k: number;
  /** Skip records farther than this (inclusive bound). */
  maxDistance?: number;
  /** Records to skip (e.g. tombstoned objects), queried by record number. */
  skip?: (record: number) => boolean;
}

/**
 * Exact k-NN over packed codes: `codes` holds `count` records of `codeBytes` bytes each.
 * Results are sorted by (distance, record) so ties break deterministically by id.
 * Reference implementation; faster kernels must return identical results.
 */
export function scanTopK(
  codes: Uint8Array,
  count: number,
  codeBytes: number,
  query: Uint8Array,
  opts: ScanOptions,
): ScanHit[] {
  if (query.length !== codeBytes) throw new Error(`query has ${query.length} bytes, index codes have ${codeBytes}`);
  const max = opts.maxDistance ?? codeBytes * 8;
  const hits: ScanHit[] = [];
  for (let r = 0; r < count; r++) {
    if (opts.skip?.(r)) continue;
    const d = hammingDistance(codes.subarray(r * codeBytes, (r + 1) * codeBytes), query);
    if (d <= max) hits.push({ record: r, distance: d });
  }
  hits.sort((a, b) => a.distance - b.distance || a.record - b.record);
  return hits.slice(0, opts.k);
}
