import type { HammingScanner, HammingSearchOptions } from '../hamming-scanner.ts';
import type { ScanHit } from '../reference-scan.ts';
import { skipPredicate } from '../skip-bitmap.ts';
import { binomial, forEachAtDistance } from './bit-neighbours.ts';
import { mihLayout, mihSubstring, mihSubstrings, type MihLayout } from './mih-layout.ts';
import { PostingTable } from './posting-table.ts';

/** Rough per-operation costs (ns) that decide between MIH and a linear scan. */
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
  /** Posting entries visited and records whose distance was computed. */
  candidates: number;
  verified: number;
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
  private covered = 0;
  private stamps = new Uint32Array(1024);
  private epoch = 0;

  constructor(
    readonly scanner: HammingScanner,
    opts: MultiIndexHashOptions = {},
  ) {
    this.layout = mihLayout(scanner.bits, opts.parts);
    this.tables = this.layout.widths.map((w) => new PostingTable(w));
    const scanNs = DEFAULT_SCAN_NS[scanner.stride] * (scanner.kernelName === 'js' ? 6 : 1);
    this.cost = { scanNsPerRecord: scanNs, candidateNs: 25, valueNs: 8, ...opts.cost };
  }

  /** An index over every record the scanner holds now (one counting-sort pass per part). */
  static fromScanner(scanner: HammingScanner, opts: MultiIndexHashOptions = {}): MultiIndexHash {
    const mih = new MultiIndexHash(scanner, opts);
    const count = scanner.count;
    const codes = scanner.storedCodes();
    mih.growTo(count);
    mih.tables.forEach((table, p) => {
      table.ensure(count);
      for (let r = 0; r < count; r++) table.values[r] = mihSubstring(codes, mih.layout, p, r * scanner.stride);
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
    this.removed[record] = 0;
    this.covered = Math.max(this.covered, record + 1);
    if (this.tables[0].pendingEntries > Math.max(65536, this.covered >> 2)) this.rebuild();
  }

  remove(record: number): void {
    this.growTo(record + 1);
    this.removed[record] = 1;
    this.covered = Math.max(this.covered, record + 1);
  }

  /** Folds pending additions into the CSR postings and drops removed records. */
  rebuild(): void {
    const removed = this.removed;
    for (const t of this.tables) t.rebuild(this.covered, (r) => removed[r] === 0);
  }

  search(query: Uint8Array, opts: MihSearchOptions): ScanHit[] {
    const strategy = opts.strategy ?? 'auto';
    const ranged = opts.from !== undefined || opts.to !== undefined;
    if (strategy === 'scan' || ranged || this.covered < this.scanner.count) return this.scan(query, opts);
    const bits = this.scanner.bits;
    const maxR = Math.min(Math.floor(opts.maxDistance ?? bits), bits);
    if (!(opts.k > 0) || maxR < 0) return [];

    const distance = this.scanner.distanceTo(query);
    const skip = skipPredicate(opts.skip, opts.recordsPerObject);
    const q = mihSubstrings(query, this.layout);
    const stamps = this.nextEpoch();
    const epoch = this.epoch;
    const removed = this.removed;
    const hitRecords: number[] = [];
    const hitDistances: number[] = [];
    const atDistance = new Int32Array(bits + 1);
    const { parts, widths } = this.layout;
    const budget = this.covered * this.cost.scanNsPerRecord;
    let spent = 0;
    let candidates = 0;
    let verified = 0;
    let within = 0;
    let radius = -1;

    for (let R = 0; R <= maxR; R++) {
      const s = Math.floor(R / parts);
      const part = R % parts;
      const width = widths[part];
      if (s <= width) {
        const table = this.tables[part];
        if (strategy === 'auto') {
          const values = binomial(width, s);
          const estimate = values * (this.cost.valueNs + (this.cost.candidateNs * this.covered) / 2 ** width);
          if (spent + estimate > budget) return this.scan(query, opts);
        }
        const before = candidates;
        const partValues = table.values;
        let enumerated = 0;
        forEachAtDistance(q[part], width, s, (v) => {
          enumerated++;
          table.forEach(v, (r) => {
            candidates++;
            if (partValues[r] !== v || stamps[r] === epoch) return;
            stamps[r] = epoch;
            if (removed[r] || (skip && skip(r))) return;
            verified++;
            const d = distance(r);
            if (d <= maxR) {
              hitRecords.push(r);
              hitDistances.push(d);
              atDistance[d]++;
            }
          });
        });
        spent += enumerated * this.cost.valueNs + (candidates - before) * this.cost.candidateNs;
      }
      // Every record within R has now been seen; none found later can beat them.
      radius = R;
      within += atDistance[R];
      if (within >= opts.k) break;
    }
    this.lastSearch = { strategy: 'mih', radius, candidates, verified };
    const order = hitRecords.map((_, i) => i).filter((i) => hitDistances[i] <= radius);
    order.sort((a, b) => hitDistances[a] - hitDistances[b] || hitRecords[a] - hitRecords[b]);
    const n = Math.min(order.length, opts.k);
    const hits: ScanHit[] = new Array(n);
    for (let i = 0; i < n; i++) hits[i] = { record: hitRecords[order[i]], distance: hitDistances[order[i]] };
    return hits;
  }

  private scan(query: Uint8Array, opts: MihSearchOptions): ScanHit[] {
    const hits = this.scanner.search(query, opts);
    this.lastSearch = { strategy: 'scan', radius: opts.maxDistance ?? this.scanner.bits, candidates: this.scanner.count, verified: this.scanner.count };
    return hits;
  }

  private nextEpoch(): Uint32Array {
    if (this.stamps.length < this.covered) this.stamps = new Uint32Array(Math.max(this.covered, this.stamps.length * 2));
    if (++this.epoch === 0xffffffff) {
      this.stamps.fill(0);
      this.epoch = 1;
    }
    return this.stamps;
  }

  private growTo(records: number): void {
    if (records <= this.removed.length) return;
    const next = new Uint8Array(Math.max(records, this.removed.length * 2));
    next.set(this.removed);
    this.removed = next;
  }
}
