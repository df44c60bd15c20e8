import type { HammingScanner, HammingSearchOptions } from '../hamming-scanner.ts';
import type { ScanHit } from '../reference-scan.ts';
import { skipPredicate } from '../skip-bitmap.ts';
import { binomial, valuesAtDistance } from './bit-neighbours.ts';
import { InlinePostings } from './inline-postings.ts';
import { mihLayout, mihPartsFor, mihSubstring, mihSubstrings, type MihLayout } from './mih-layout.ts';
import { PostingTable } from './posting-table.ts';
import { RecordSet } from './record-set.ts';

/**
 * Per-operation costs (ns) that decide between MIH and a linear scan. Start from these defaults
 * (or the options) and follow measured times: candidateNs after each MIH search, scanNsPerRecord
 * after each linear scan this index runs (large indexes only).
 */
export interface MihCostModel {
  /** Linear scan, per record (wasm kernel, 64-bit codes: ~1-1.5 ns on one core). */
  scanNsPerRecord: number;
  /** Visiting one posting entry and verifying it (random access into the codes). */
  candidateNs: number;
  /** Enumerating one substring value and looking up its bucket. */
  valueNs: number;
}

export interface MihSearchOptions extends HammingSearchOptions {
  /** 'auto' (default) uses MIH while its estimated cost stays below a linear scan's. */
  strategy?: 'auto' | 'mih' | 'scan';
}

export interface MihSearchStats {
  strategy: 'mih' | 'scan';
  /** Radius up to which every record was examined (MIH). */
  radius: number;
  /** Posting entries visited (each one's distance computed); a scan counts every record. */
  candidates: number;
}

export interface MultiIndexHashOptions {
  /** Substrings (default: 16-bit ones, see mihLayout). */
  parts?: number;
  cost?: Partial<MihCostModel>;
}

const DEFAULT_SCAN_NS: Record<number, number> = { 4: 1, 8: 1.3, 16: 2.5, 32: 3.5 };

/**
 * Multi-index hashing (Norouzi et al.) over a HammingScanner's records: exact radius and k-NN
 * search touching only records that share a near substring with the query. For radius
 * R = m*s + a, searching parts 0..a at substring radius s and the others at s-1 finds every
 * record within R (pigeonhole); k-NN grows R one step at a time until k records are within R.
 * Results equal HammingScanner.search (same order, ties by record). Every record of the scanner
 * must be add()ed (or the index built with fromScanner); records not covered fall back to a scan.
 */
export class MultiIndexHash {
  readonly layout: MihLayout;
  readonly cost: MihCostModel;
  lastSearch: MihSearchStats | null = null;
  private readonly tables: PostingTable[];
  private removed = new Uint8Array(1024);
  private removedCount = 0;
  private covered = 0;
  private candidates = new Uint32Array(4096);
  private valueBuffer = new Uint32Array(1024);
  private readonly seen = new RecordSet();
  /** Postings with codes inline (64-bit codes), rebuilt with the tables; null for other layouts. */
  private readonly inline: InlinePostings | null;
  /** Records added since the last rebuild: their inline entries may hold an old code (or none). */
  private dirty = new Uint8Array(1024);

  constructor(
    readonly scanner: HammingScanner,
    opts: MultiIndexHashOptions = {},
  ) {
    this.layout = mihLayout(scanner.bits, opts.parts);
    this.tables = this.layout.widths.map((w) => new PostingTable(w));
    this.inline = InlinePostings.supports(this.layout, scanner.stride) ? new InlinePostings() : null;
    const scanNs = DEFAULT_SCAN_NS[scanner.stride] * (scanner.kernelName === 'js' ? 6 : 1);
    // Inline postings read a bucket's entries sequentially (a few ns each) after one random read.
    const perBucket = this.inline ? { candidateNs: 3, valueNs: 60 } : { candidateNs: 40, valueNs: 15 };
    this.cost = { scanNsPerRecord: scanNs, ...perBucket, ...opts.cost };
  }

  /** An index over every record the scanner holds now (one counting-sort pass per part). */
  static fromScanner(scanner: HammingScanner, opts: MultiIndexHashOptions = {}): MultiIndexHash {
    const mih = new MultiIndexHash(scanner, { ...opts, parts: opts.parts ?? mihPartsFor(scanner.bits, scanner.count) });
    const count = scanner.count;
    const codes = scanner.storedCodes();
    mih.growTo(count);
    const stride = scanner.stride;
    mih.tables.forEach((table, p) => {
      table.ensure(count);
      const values = table.values;
      const start = mih.layout.starts[p];
      if (mih.layout.widths[p] === 16 && start % 8 === 0) {
        for (let r = 0, o = start >> 3; r < count; r++, o += stride) values[r] = (codes[o] << 8) | codes[o + 1];
      } else {
        for (let r = 0; r < count; r++) values[r] = mihSubstring(codes, mih.layout, p, r * stride);
      }
    });
    mih.covered = count;
    mih.rebuild();
    return mih;
  }

  /** Records [0, count) are covered by the index. */
  get count(): number {
    return this.covered;
  }

  /** Indexes (or re-indexes) a record; `code` must be what the scanner holds for it. */
  add(record: number, code: Uint8Array = this.scanner.code(record)): void {
    this.growTo(record + 1);
    const values = mihSubstrings(code, this.layout);
    this.tables.forEach((t, p) => t.add(record, values[p]));
    this.dirty[record] = 1;
    if (this.removed[record]) this.removedCount--;
    this.removed[record] = 0;
    this.covered = Math.max(this.covered, record + 1);
    if (this.tables[0].pendingEntries > Math.max(65536, this.covered >> 2)) this.rebuild();
  }

  remove(record: number): void {
    this.growTo(record + 1);
    if (!this.removed[record]) this.removedCount++;
    this.removed[record] = 1;
    this.covered = Math.max(this.covered, record + 1);
  }

  /** Folds pending additions into the CSR postings and drops removed records. */
  rebuild(): void {
    this.growTo(this.covered + 1);
    const removed = this.removed;
    for (const t of this.tables) t.rebuild(this.covered, removed);
    if (this.inline) {
      this.inline.build(this.tables, this.scanner.storedCodes());
      this.dirty.fill(0);
    }
  }

  search(query: Uint8Array, opts: MihSearchOptions): ScanHit[] {
    const strategy = opts.strategy ?? 'auto';
    const ranged = opts.from !== undefined || opts.to !== undefined;
    if (strategy === 'scan' || ranged || this.covered < this.scanner.count) return this.scan(query, opts);
    const bits = this.scanner.bits;
    const maxR = Math.min(Math.floor(opts.maxDistance ?? bits), bits);
    if (!(opts.k > 0) || maxR < 0) return [];

    const skip = skipPredicate(opts.skip, opts.recordsPerObject);
    const q = mihSubstrings(query, this.layout);
    const removed = this.removedCount > 0 ? this.removed : null;
    const started = performance.now();
    const seen = this.seen;
    seen.clear();
    const hitRecords: number[] = [];
    const hitDistances: number[] = [];
    const atDistance = new Int32Array(bits + 1);
    const { parts, widths } = this.layout;
    const budget = this.covered * this.cost.scanNsPerRecord;
    let bound = maxR; // candidates farther than this cannot make the result
    let spent = 0;
    let candidates = 0;
    let enumeratedValues = 0;
    let within = 0;
    let radius = -1;
    const dirty = this.dirty;
    const emit = (r: number, d: number) => {
      if (!seen.add(r)) return; // a record sits in one bucket per part: count it once
      if ((removed !== null && removed[r] === 1) || (skip !== null && skip(r))) return;
      hitRecords.push(r);
      hitDistances.push(d);
      atDistance[d]++;
    };
    // A changed record's inline entry holds its old code: it is verified from the delta lists.
    const emitInline = (r: number, d: number) => {
      if (dirty[r] !== 1) emit(r, d);
    };
    const inline = this.inline?.built ? this.inline : null;
    inline?.setQuery(query);

    for (let R = 0; R <= maxR; R++) {
      const s = Math.floor(R / parts);
      const part = R % parts;
      const width = widths[part];
      if (s <= width) {
        const table = this.tables[part];
        const values = binomial(width, s);
        if (strategy === 'auto') {
          const estimate = values * (this.cost.valueNs + (this.cost.candidateNs * this.covered) / 2 ** width);
          if (spent + estimate > budget) return this.scan(query, opts);
        }
        // Gather the step's posting entries first (sequential reads), then verify them in the
        // kernel's tight loop, whose independent random code reads the CPU overlaps.
        if (this.valueBuffer.length < values) this.valueBuffer = new Uint32Array(values);
        const valueList = this.valueBuffer;
        const nv = valuesAtDistance(q[part], width, s, valueList);
        let n = 0;
        let visited = 0;
        if (inline) {
          const collect = (v: number) => (n = table.collect(v, this.candidateRoom(n, table.bucketSize(v)), n));
          visited = inline.verify(part, valueList, nv, bound, table, emitInline, collect);
          if (table.pendingEntries > 0) {
            for (let j = 0; j < nv; j++) n = table.collectDelta(valueList[j], this.candidateRoom(n, table.bucketSize(valueList[j])), n);
          }
        } else {
          for (let j = 0; j < nv; j++) {
            const v = valueList[j];
            n = table.collect(v, this.candidateRoom(n, table.bucketSize(v)), n);
          }
        }
        if (n > 0) this.scanner.verifyRecords(query, this.candidates, n, bound, emit);
        candidates += n + visited;
        enumeratedValues += nv;
        spent += nv * this.cost.valueNs + n * this.cost.candidateNs;
        bound = Math.min(bound, kthDistance(atDistance, opts.k));
      }
      // Every record within R has now been seen; none found later can beat them.
      radius = R;
      within += atDistance[R];
      if (within >= opts.k) break;
    }
    this.lastSearch = { strategy: 'mih', radius, candidates };
    this.calibrate(candidates, enumeratedValues, performance.now() - started);
    const order: number[] = [];
    for (let i = 0; i < hitRecords.length; i++) if (hitDistances[i] <= radius) order.push(i);
    order.sort((a, b) => hitDistances[a] - hitDistances[b] || hitRecords[a] - hitRecords[b]);
    const n = Math.min(order.length, opts.k);
    const hits: ScanHit[] = new Array(n);
    for (let i = 0; i < n; i++) hits[i] = { record: hitRecords[order[i]], distance: hitDistances[order[i]] };
    return hits;
  }

  /** Linear scan fallback; records removed from the index are skipped there too. */
  private scan(query: Uint8Array, opts: MihSearchOptions): ScanHit[] {
    const started = performance.now();
    const removed = this.removed;
    const userSkip = skipPredicate(opts.skip, opts.recordsPerObject);
    const skip = this.removedCount === 0 ? userSkip : (r: number) => removed[r] === 1 || (userSkip !== null && userSkip(r));
    const hits = this.scanner.search(query, { ...opts, skip: skip ?? undefined });
    this.lastSearch = { strategy: 'scan', radius: opts.maxDistance ?? this.scanner.bits, candidates: this.scanner.count };
    const ms = performance.now() - started;
    if (this.scanner.count >= 65536) {
      this.cost.scanNsPerRecord = ema(this.cost.scanNsPerRecord, clamp((ms * 1e6) / this.scanner.count, 0.2, 50));
    }
    return hits;
  }

  /**
   * Learns the per-candidate cost from a finished MIH search (wall time, so it follows the CPU,
   * the memory and the load). Clamped so a cold JIT or a preempted run cannot lock MIH out.
   */
  private calibrate(candidates: number, values: number, ms: number): void {
    const units = candidates + values * (this.cost.valueNs / this.cost.candidateNs);
    if (units < 1024) return;
    this.cost.candidateNs = ema(this.cost.candidateNs, clamp((ms * 1e6) / units, this.inline ? 0.5 : 10, 400));
  }

  /** The candidate buffer, grown to hold `used + more` entries (keeping the first `used`). */
  private candidateRoom(used: number, more: number): Uint32Array {
    if (used + more > this.candidates.length) {
      const next = new Uint32Array(Math.max(used + more, this.candidates.length * 2));
      next.set(this.candidates.subarray(0, used));
      this.candidates = next;
    }
    return this.candidates;
  }

  private growTo(records: number): void {
    if (records <= this.removed.length) return;
    const size = Math.max(records, this.removed.length * 2);
    const grow = (a: Uint8Array) => {
      const next = new Uint8Array(size);
      next.set(a);
      return next;
    };
    this.removed = grow(this.removed);
    this.dirty = grow(this.dirty);
  }
}

/** Distance of the k-th nearest among the counted hits (ties included), or Infinity if fewer than k. */
function kthDistance(atDistance: Int32Array, k: number): number {
  let seen = 0;
  for (let d = 0; d < atDistance.length; d++) if ((seen += atDistance[d]) >= k) return d;
  return Infinity;
}

const ema = (old: number, observed: number) => 0.8 * old + 0.2 * observed;
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
