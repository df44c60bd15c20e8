import { HammingScanner, type ScanHit } from '@loupe/shared/searcher-core';

/** Bytes of a code's prefix: 64 bits, one i64.popcnt per record in the kernel. */
export const PREFIX_BYTES = 8;

/** Re-rank pool: this many candidates per record asked for ... */
export const RERANK_FACTOR = 16;
/** ... at least this many ... */
export const RERANK_MIN = 1024;
/** ... and at least this share of the level's records (1 / RERANK_SHARE), so the pool grows with the index. */
export const RERANK_SHARE = 1024;

/** Candidates the prefix scan hands the re-rank when `k` records are asked of `count`. */
export function rerankPool(k: number, count: number): number {
  return Math.min(count, Math.max(k * RERANK_FACTOR, RERANK_MIN, Math.ceil(count / RERANK_SHARE)));
}

export interface PrefixSearchOptions {
  /** Records wanted. */
  k: number;
  /** Candidates to re-rank (rerankPool unless set). */
  pool?: number;
  maxDistance: number;
  tombstones: Uint8Array;
  recordsPerObject: number;
  /** Records 0..count-1 are searched. */
  count: number;
}

export interface PrefixSearchResult {
  hits: ScanHit[];
  /**
   * True when the answer is provably the exact top k: the pool held every record within
   * maxDistance, or the k-th distance found is below every prefix distance left out (a prefix
   * distance never exceeds the full one).
   */
  exact: boolean;
}

/**
 * The first 64 bits of every record's code, packed in a popcount kernel of their own: a scan of a
 * quarter of a 256-bit level's bytes (and a quarter of its popcounts) finds the records nearest by
 * prefix, whose full codes are then compared (re-rank). Approximate: a record whose prefix is
 * farther than the pool's last but whose whole code is nearer than the k-th found is missed; the
 * result says when that cannot have happened.
 */
export class PrefixCodes {
  private readonly scanner = new HammingScanner(PREFIX_BYTES);
  private packed = new Uint8Array(0);

  constructor(private readonly codeBytes: number) {}

  get count(): number {
    return this.scanner.count;
  }

  /** Bytes held. */
  get memoryBytes(): number {
    return this.scanner.memoryBytes;
  }

  reserve(records: number): void {
    this.scanner.reserve(records);
  }

  /** Takes the prefixes of whole records written from record `first` (records in a gap stay all-zero). */
  write(first: number, codes: Uint8Array): void {
    const n = Math.floor(codes.length / this.codeBytes);
    if (this.packed.length < n * PREFIX_BYTES) this.packed = new Uint8Array(n * PREFIX_BYTES);
    const out = this.packed;
    for (let i = 0, src = 0, dst = 0; i < n; i++, src += this.codeBytes) {
      for (let b = 0; b < PREFIX_BYTES; b++) out[dst++] = codes[src + b];
    }
    this.scanner.write(first, out.subarray(0, n * PREFIX_BYTES));
  }

  /**
   * The k nearest records by (distance, record) among the pool nearest by prefix, their full
   * distances from `full` (the level's own scanner).
   */
  search(query: Uint8Array, full: HammingScanner, o: PrefixSearchOptions): PrefixSearchResult {
    const to = Math.min(o.count, this.scanner.count);
    const pool = Math.min(o.pool ?? rerankPool(o.k, to), to);
    if (to <= 0 || o.k < 1 || o.maxDistance < 0) return { hits: [], exact: true };
    const candidates = this.scanner.search(query.subarray(0, PREFIX_BYTES), {
      k: pool,
      maxDistance: o.maxDistance,
      skip: o.tombstones,
      recordsPerObject: o.recordsPerObject,
      to,
    });
    const records = new Uint32Array(candidates.length);
    for (let i = 0; i < candidates.length; i++) records[i] = candidates[i].record;
    const hits: ScanHit[] = [];
    full.verifyRecords(query, records, records.length, o.maxDistance, (record, distance) => hits.push({ record, distance }));
    hits.sort((a, b) => a.distance - b.distance || a.record - b.record);
    if (hits.length > o.k) hits.length = o.k;
    const lastPrefix = candidates.length ? candidates[candidates.length - 1].distance : 0;
    const exact = candidates.length < pool || (hits.length === o.k && hits[o.k - 1].distance < lastPrefix);
    return { hits, exact };
  }
}
