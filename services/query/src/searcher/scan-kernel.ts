import { HammingScanner, MAX_CODE_BYTES, MIN_CODE_BYTES, MultiIndexHash, scanTopK, skipPredicate } from '@loupe/shared/searcher-core';
import { GrowableBytes } from './growable-bytes.ts';

/** A record (object id * viewsAtLevel + view) and its Hamming distance to the query. */
export interface RecordHit {
  record: number;
  distance: number;
}

/** How a search was answered: multi-index hashing or a linear scan. */
export type SearchStrategy = 'mih' | 'scan';

export interface NearestOptions {
  k: number;
  /** Inclusive radius. */
  maxDistance?: number;
  /** Tombstones by object id (Redis SETBIT bit order); object of record r is floor(r / recordsPerObject). */
  tombstones: Uint8Array;
  recordsPerObject: number;
  /** Records 0..count-1 are searched. */
  count: number;
  /** 'auto' (default): MIH when its cost estimate beats a scan; 'mih' / 'scan' force one (tests, benches). */
  strategy?: 'auto' | SearchStrategy;
}

export interface LevelCodesOptions {
  /**
   * Keep a multi-index hash (sublinear radius / k-NN search) once the level holds this many
   * records; only for codes of up to MIH_MAX_CODE_BYTES.
   */
  mihMinRecords?: number;
}

/** Below this many records a scan takes a few microseconds: an index is not worth its memory. */
export const DEFAULT_MIH_MIN_RECORDS = 4096;
/**
 * Longer codes get no MIH: the nearest of a k-NN probe over 256-bit codes are ~90 bits away, too
 * far for substring buckets to narrow anything, so its cost model sends every such search to the
 * scan, while it would take 3x the codes' memory and most of the load time.
 */
export const MIH_MAX_CODE_BYTES = 8;

/**
 * The packed codes of one level and the Hamming search over them: the one place the searchers
 * touch the kernel and the MIH, so swapping them is a change here only. Results are sorted by
 * (distance, record) and are the same whichever strategy answers.
 */
export interface LevelCodes {
  /** Writes whole records starting at record `first` (growing the store as needed). */
  write(first: number, codes: Uint8Array): void;
  /** Records [first, first + n) will not be searched again (their object was deleted). */
  remove(first: number, n: number): void;
  /**
   * Builds the MIH over what was written so far once the level is large enough (after a bulk
   * load, and after live writes while it is still small); later writes keep it current.
   */
  ensureIndex(): void;
  /** Room for this many records (a bulk load knows how many come). */
  reserve(records: number): void;
  nearest(query: Uint8Array, opts: NearestOptions): RecordHit[];
  /** Strategy of the last nearest() call. */
  readonly lastStrategy: SearchStrategy;
  /** True when a multi-index hash is kept for this level. */
  readonly indexed: boolean;
}

export function createLevelCodes(codeBytes: number, opts: LevelCodesOptions = {}): LevelCodes {
  return codeBytes >= MIN_CODE_BYTES && codeBytes <= MAX_CODE_BYTES ? new KernelLevelCodes(codeBytes, opts) : new ReferenceLevelCodes(codeBytes);
}

/**
 * Codes kept inside the shared wasm-SIMD (or JS) popcount kernel's memory (no copy per query),
 * plus, for codes of up to 64 bits, a MultiIndexHash over the same records once the level is large
 * enough (longer codes: the exact scan alone, see MIH_MAX_CODE_BYTES). The MIH is built in
 * one pass after a bulk load and kept current record by record afterwards: an upsert re-adds the
 * object's records (their stale postings only cost a verified candidate until the next rebuild),
 * a delete removes them. Deleted objects are also skipped through the tombstones, as in the scan.
 */
class KernelLevelCodes implements LevelCodes {
  private readonly scanner: HammingScanner;
  private mih: MultiIndexHash | null = null;
  private readonly mihMinRecords: number;
  lastStrategy: SearchStrategy = 'scan';

  constructor(
    private readonly codeBytes: number,
    opts: LevelCodesOptions,
  ) {
    this.scanner = new HammingScanner(codeBytes);
    this.mihMinRecords = codeBytes > MIH_MAX_CODE_BYTES ? Infinity : (opts.mihMinRecords ?? DEFAULT_MIH_MIN_RECORDS);
  }

  get indexed(): boolean {
    return this.mih !== null;
  }

  write(first: number, codes: Uint8Array): void {
    const n = Math.floor(codes.length / this.codeBytes);
    if (first === this.scanner.count) this.scanner.append(codes.subarray(0, n * this.codeBytes));
    else {
      this.scanner.reserve(first + n);
      for (let i = 0; i < n; i++) this.scanner.set(first + i, codes.subarray(i * this.codeBytes, (i + 1) * this.codeBytes));
    }
    const mih = this.mih;
    if (mih) {
      // Records skipped over by a write past the end are all-zero codes in the scanner: index them too.
      for (let r = mih.count; r < first; r++) mih.add(r);
      for (let i = 0; i < n; i++) mih.add(first + i, codes.subarray(i * this.codeBytes, (i + 1) * this.codeBytes));
    }
  }

  remove(first: number, n: number): void {
    if (!this.mih) return;
    for (let r = first; r < first + n && r < this.mih.count; r++) this.mih.remove(r);
  }

  ensureIndex(): void {
    if (this.mih || this.scanner.count < this.mihMinRecords) return;
    this.mih = MultiIndexHash.fromScanner(this.scanner);
  }

  reserve(records: number): void {
    this.scanner.reserve(records);
  }

  nearest(query: Uint8Array, o: NearestOptions): RecordHit[] {
    const to = Math.min(o.count, this.scanner.count);
    if (to <= 0) return [];
    const opts = { k: o.k, maxDistance: o.maxDistance, skip: o.tombstones, recordsPerObject: o.recordsPerObject };
    // The MIH answers over all its records; with a tail of records outside `count` (an object
    // half-written during a load) only the scan can leave them out.
    if (this.mih && to === this.scanner.count && this.mih.count === to && o.strategy !== 'scan') {
      const hits = this.mih.search(query, { ...opts, strategy: o.strategy ?? 'auto' });
      this.lastStrategy = this.mih.lastSearch?.strategy ?? 'scan';
      return hits;
    }
    this.lastStrategy = 'scan';
    return this.scanner.search(query, { ...opts, to });
  }
}

/** Code sizes the kernel does not support: plain bytes and the reference scan. */
class ReferenceLevelCodes implements LevelCodes {
  private readonly store = new GrowableBytes();
  private records = 0;
  readonly lastStrategy = 'scan' as const;
  readonly indexed = false;

  constructor(private readonly codeBytes: number) {}

  write(first: number, codes: Uint8Array): void {
    const n = Math.floor(codes.length / this.codeBytes);
    this.store.write(first * this.codeBytes, codes.subarray(0, n * this.codeBytes));
    this.records = Math.max(this.records, first + n);
  }

  remove(): void {}

  ensureIndex(): void {}

  reserve(records: number): void {
    this.store.ensure(records * this.codeBytes);
  }

  nearest(query: Uint8Array, o: NearestOptions): RecordHit[] {
    const count = Math.min(o.count, this.records);
    const skip = skipPredicate(o.tombstones, o.recordsPerObject) ?? undefined;
    return scanTopK(this.store.bytes, count, this.codeBytes, query, { k: o.k, maxDistance: o.maxDistance, skip });
  }
}
