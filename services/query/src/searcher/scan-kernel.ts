import { HammingScanner, MAX_CODE_BYTES, MIN_CODE_BYTES, scanTopK, skipPredicate } from '@loupe/shared';
import { GrowableBytes } from './growable-bytes.ts';

/** A record (object id * viewsAtLevel + view) and its Hamming distance to the query. */
export interface RecordHit {
  record: number;
  distance: number;
}

export interface NearestOptions {
  k: number;
  /** Inclusive radius. */
  maxDistance?: number;
  /** Tombstones by object id (Redis SETBIT bit order); object of record r is floor(r / recordsPerObject). */
  tombstones: Uint8Array;
  recordsPerObject: number;
  /** Records 0..count-1 are searched. */
  count: number;
}

/**
 * The packed codes of one level and the Hamming kernel over them: the one place the searchers
 * touch the kernel, so swapping it is a change here only. Results are sorted by (distance, record).
 */
export interface LevelCodes {
  /** Writes whole records starting at record `first` (growing the store as needed). */
  write(first: number, codes: Uint8Array): void;
  nearest(query: Uint8Array, opts: NearestOptions): RecordHit[];
}

export function createLevelCodes(codeBytes: number): LevelCodes {
  return codeBytes >= MIN_CODE_BYTES && codeBytes <= MAX_CODE_BYTES ? new KernelLevelCodes(codeBytes) : new ReferenceLevelCodes(codeBytes);
}

/** Codes kept inside the shared wasm-SIMD (or JS) popcount kernel's memory: no copy per query. */
class KernelLevelCodes implements LevelCodes {
  private readonly scanner: HammingScanner;

  constructor(private readonly codeBytes: number) {
    this.scanner = new HammingScanner(codeBytes);
  }

  write(first: number, codes: Uint8Array): void {
    const n = Math.floor(codes.length / this.codeBytes);
    if (first === this.scanner.count) {
      this.scanner.append(codes.subarray(0, n * this.codeBytes));
      return;
    }
    this.scanner.reserve(first + n);
    for (let i = 0; i < n; i++) this.scanner.set(first + i, codes.subarray(i * this.codeBytes, (i + 1) * this.codeBytes));
  }

  nearest(query: Uint8Array, o: NearestOptions): RecordHit[] {
    const to = Math.min(o.count, this.scanner.count);
    if (to <= 0) return [];
    return this.scanner.search(query, { k: o.k, maxDistance: o.maxDistance, skip: o.tombstones, recordsPerObject: o.recordsPerObject, to });
  }
}

/** Code sizes the kernel does not support: plain bytes and the reference scan. */
class ReferenceLevelCodes implements LevelCodes {
  private readonly store = new GrowableBytes();
  private records = 0;

  constructor(private readonly codeBytes: number) {}

  write(first: number, codes: Uint8Array): void {
    const n = Math.floor(codes.length / this.codeBytes);
    this.store.write(first * this.codeBytes, codes.subarray(0, n * this.codeBytes));
    this.records = Math.max(this.records, first + n);
  }

  nearest(query: Uint8Array, o: NearestOptions): RecordHit[] {
    const count = Math.min(o.count, this.records);
    const skip = skipPredicate(o.tombstones, o.recordsPerObject) ?? undefined;
    return scanTopK(this.store.bytes, count, this.codeBytes, query, { k: o.k, maxDistance: o.maxDistance, skip });
  }
}
