import { createPopcountKernel, type KernelChoice } from './kernel/create-popcount-kernel.ts';
import { BLOCK_RECORDS, CANDIDATE_CAPACITY, CANDIDATES_OFFSET, CODES_OFFSET, OUT_OFFSET, QUERY_OFFSET, RESUME_OFFSET, strideFor, type Stride } from './kernel/kernel-layout.ts';
import type { PopcountKernel } from './kernel/popcount-kernel.ts';
import { recordDistance, type RecordDistance } from './record-distance.ts';
import { multiProbeSearch, type ProbeQuery, type SharedScanOptions } from './multi-probe-search.ts';
import type { ScanHit, ScanOptions } from './reference-scan.ts';
import { skipPredicate, type SkipOption } from './skip-bitmap.ts';
import { TopKCollector } from './top-k-collector.ts';

/**
 * Blocks (of 16 records) in the first window of a k-NN scan at most; later windows double. Every
 * record of the first window is emitted (the threshold is still the radius), so it holds about 2k
 * records: a search of k = 10 then offers ~150 records to the collector instead of over a thousand
 * (searches of many small shards paid more for those offers than for the scan).
 */
const FIRST_WINDOW_BLOCKS = 64;

/**
 * searchMany scans queries together only over ranges at least this large: a smaller range stays in
 * the caches between one query's pass and the next, so a shared pass saves no memory traffic, and
 * the scan is then bound by the popcounts (measured: the same time per record and query either way
 * at 2 MB, a third less for the shared pass at 32 MB).
 */
export const MULTI_PROBE_MIN_BYTES = 4 << 20;

// The reference scan lives in its own file; re-exported here where it always was.
export { scanTopK, type ScanHit, type ScanOptions } from './reference-scan.ts';
export type { ProbeQuery, SharedScanOptions } from './multi-probe-search.ts';

export interface HammingSearchOptions {
  /** Results wanted (Infinity: every record within maxDistance). */
  k: number;
  /** Inclusive radius; default: the code's bit count. */
  maxDistance?: number;
  /**
   * Uint8Array: bitmap by object id (Redis SETBIT order, see skip-bitmap.ts), where a record's
   * object is floor(record / recordsPerObject). A function: skip by record number.
   */
  skip?: SkipOption;
  recordsPerObject?: number;
  /** Record range to scan, [from, to); default every record. */
  from?: number;
  to?: number;
}

export interface HammingScannerOptions {
  kernel?: KernelChoice | PopcountKernel;
  /** Records to reserve room for up front. */
  capacity?: number;
  /** searchMany's shared passes from ranges of this many bytes (default MULTI_PROBE_MIN_BYTES; tests: 0). */
  multiProbeMinBytes?: number;
}

export type { RecordDistance } from './record-distance.ts';

/**
 * In-memory store of packed codes plus exact Hamming top-k over them. Records are stored
 * zero-padded to a stride of 4/8/16/32 bytes inside the kernel's memory (so the wasm kernel scans
 * them in place, no copy per query). Pure typed-array code: usable as-is in a worker thread.
 */
export class HammingScanner {
  readonly stride: Stride;
  readonly bits: number;
  private readonly kernel: PopcountKernel;
  private readonly multiProbeMinBytes: number;
  private records = 0;

  constructor(
    readonly codeBytes: number,
    opts: HammingScannerOptions = {},
  ) {
    this.stride = strideFor(codeBytes);
    this.bits = codeBytes * 8;
    this.kernel = typeof opts.kernel === 'object' ? opts.kernel : createPopcountKernel(opts.kernel);
    this.multiProbeMinBytes = opts.multiProbeMinBytes ?? MULTI_PROBE_MIN_BYTES;
    if (opts.capacity) this.reserve(opts.capacity);
  }

  get count(): number {
    return this.records;
  }

  get kernelName(): PopcountKernel['name'] {
    return this.kernel.name;
  }

  /** Bytes held for codes. */
  get memoryBytes(): number {
    return this.kernel.bytes.length;
  }

  reserve(records: number): void {
    this.kernel.reserve(Math.ceil(records / BLOCK_RECORDS) * BLOCK_RECORDS * this.stride);
  }

  /** Appends packed codes (record i = bytes [i*codeBytes, (i+1)*codeBytes)); returns the first new record. */
  append(codes: Uint8Array): number {
    if (codes.length % this.codeBytes) throw new RangeError(`${codes.length} bytes is not a whole number of ${this.codeBytes}-byte codes`);
    const first = this.records;
    this.write(first, codes);
    return first;
  }

  /** Writes one record; writing past the end grows the store (records in between are all-zero). */
  set(record: number, code: Uint8Array): void {
    if (code.length !== this.codeBytes) throw new RangeError(`code has ${code.length} bytes, expected ${this.codeBytes}`);
    if (record >= this.records) {
      this.reserve(record + 1);
      this.records = record + 1;
    }
    this.kernel.bytes.set(code, CODES_OFFSET + record * this.stride);
  }

  /**
   * Writes packed codes as records first, first+1, ... (e.g. a GETRANGE slice of the shard's codes
   * string), growing the store as needed; records skipped over are all-zero.
   */
  write(first: number, codes: Uint8Array): void {
    if (codes.length % this.codeBytes) throw new RangeError(`${codes.length} bytes is not a whole number of ${this.codeBytes}-byte codes`);
    const n = codes.length / this.codeBytes;
    if (first + n > this.records) {
      this.reserve(first + n);
      this.records = first + n;
    }
    const bytes = this.kernel.bytes;
    if (this.stride === this.codeBytes) bytes.set(codes, CODES_OFFSET + first * this.stride);
    else {
      for (let i = 0; i < n; i++) {
        bytes.set(codes.subarray(i * this.codeBytes, (i + 1) * this.codeBytes), CODES_OFFSET + (first + i) * this.stride);
      }
    }
  }

  /** Replaces the whole store, e.g. with a shard's codes string read from Redis. */
  load(codes: Uint8Array): void {
    this.truncate(0);
    this.append(codes);
  }

  /** Drops records from `count` on (zeroed, so later writes past the end leave zero gaps). */
  truncate(count: number): void {
    if (count >= this.records) return;
    this.kernel.bytes.fill(0, CODES_OFFSET + count * this.stride, CODES_OFFSET + this.records * this.stride);
    this.records = count;
  }

  /** A copy of one record's code. */
  code(record: number): Uint8Array {
    this.checkRecord(record);
    const at = CODES_OFFSET + record * this.stride;
    return this.kernel.bytes.slice(at, at + this.codeBytes);
  }

  /**
   * The stored codes in place: record i at [i*stride, i*stride + codeBytes), zero padded to the
   * stride. A view, valid until the store grows; do not write through it.
   */
  storedCodes(): Uint8Array {
    return this.kernel.bytes.subarray(CODES_OFFSET, CODES_OFFSET + this.records * this.stride);
  }

  distance(record: number, query: Uint8Array): number {
    this.checkRecord(record);
    return this.distanceTo(query)(record);
  }

  /**
   * A fast distance function from `query` to any stored record (no bounds checks). Valid until
   * the store grows (append/set/reserve past capacity).
   */
  distanceTo(query: Uint8Array): RecordDistance {
    if (query.length !== this.codeBytes) throw new RangeError(`query has ${query.length} bytes, index codes have ${this.codeBytes}`);
    return recordDistance(this.kernel.words, this.stride, query);
  }

  /** Exact k nearest records by (distance, record), the same as the reference scanTopK. */
  search(query: Uint8Array, opts: HammingSearchOptions): ScanHit[] {
    if (query.length !== this.codeBytes) throw new RangeError(`query has ${query.length} bytes, index codes have ${this.codeBytes}`);
    const from = Math.max(0, opts.from ?? 0);
    const to = Math.min(this.records, opts.to ?? this.records);
    const top = new TopKCollector(opts.k, opts.maxDistance ?? this.bits, this.bits);
    if (top.threshold < 0 || from >= to) return [];
    const skip = skipPredicate(opts.skip, opts.recordsPerObject);
    const offer = (r: number, d: number) => {
      if (d <= top.threshold && !(skip && skip(r))) top.add(r, d);
    };

    // Records before the first whole block and after the last one are scored here; whole blocks by the kernel.
    const firstBlock = Math.ceil(from / BLOCK_RECORDS);
    const endBlock = Math.floor(to / BLOCK_RECORDS);
    const headEnd = Math.min(to, firstBlock * BLOCK_RECORDS);
    // Only a range that is not whole blocks needs the distance function.
    const distance = from < headEnd || Math.max(headEnd, endBlock * BLOCK_RECORDS) < to ? this.distanceTo(query) : undefined;
    for (let r = from; r < headEnd; r++) offer(r, distance!(r));
    top.settle();
    if (firstBlock < endBlock) {
      this.writeQuery(query);
      const w = this.kernel.words;
      const out = OUT_OFFSET >> 2;
      let block = firstBlock;
      // Windows that double from a few blocks: the threshold starts loose (every record of the
      // first window is emitted) and tightens after each window, instead of staying loose until
      // the out area fills.
      let window = Number.isFinite(opts.k) ? Math.max(1, Math.min(FIRST_WINDOW_BLOCKS, Math.ceil((2 * opts.k) / BLOCK_RECORDS))) : FIRST_WINDOW_BLOCKS;
      while (block < endBlock && top.threshold >= 0) {
        const stop = Math.min(endBlock, block + window);
        const n = this.kernel.scanBlocks(this.stride, block, stop, top.threshold);
        for (let i = 0; i < n; i++) offer(w[out + 2 * i], w[out + 2 * i + 1]);
        top.settle();
        block = w[RESUME_OFFSET >> 2];
        if (block >= stop) window *= 2;
      }
    }
    for (let r = Math.max(headEnd, endBlock * BLOCK_RECORDS); r < to && top.threshold >= 0; r++) offer(r, distance!(r));
    return top.results();
  }

  /**
   * search() for several queries over the same records: the same results, in query order. Over a
   * range too large for the caches, queries are scanned together, as many at once as the kernel
   * takes (multiProbeSearch), so the records are read once per group instead of once per query.
   */
  searchMany(probes: ProbeQuery[], opts: SharedScanOptions = {}): ScanHit[][] {
    for (const p of probes) if (p.code.length !== this.codeBytes) throw new RangeError(`query has ${p.code.length} bytes, index codes have ${this.codeBytes}`);
    const most = this.kernel.multiProbes(this.stride);
    const scanned = (Math.min(this.records, opts.to ?? this.records) - Math.max(0, opts.from ?? 0)) * this.stride;
    if (most < 2 || probes.length < 2 || scanned < this.multiProbeMinBytes) return probes.map((p) => this.search(p.code, { ...opts, k: p.k, maxDistance: p.maxDistance }));
    // Groups as even as possible (13 queries by 4: 4, 3, 3, 3), each scanned in one pass.
    const groups = Math.ceil(probes.length / most);
    const store = { kernel: this.kernel, stride: this.stride, bits: this.bits, count: this.records, distanceTo: (q: Uint8Array) => this.distanceTo(q) };
    const out: ScanHit[][] = [];
    for (let g = 0, at = 0; g < groups; g++) {
      const size = Math.ceil((probes.length - at) / (groups - g));
      const group = probes.slice(at, (at += size));
      out.push(...(size === 1 ? [this.search(group[0].code, { ...opts, k: group[0].k, maxDistance: group[0].maxDistance })] : multiProbeSearch(store, group, opts, FIRST_WINDOW_BLOCKS)));
    }
    return out;
  }

  /**
   * Computes the distance of each listed record (e.g. MIH candidates; all < count) and calls
   * emit(record, distance), in list order, for those within maxDistance. Runs in the kernel: a
   * tight gather loop whose cache misses overlap.
   */
  verifyRecords(query: Uint8Array, records: Uint32Array, n: number, maxDistance: number, emit: (record: number, distance: number) => void): void {
    if (query.length !== this.codeBytes) throw new RangeError(`query has ${query.length} bytes, index codes have ${this.codeBytes}`);
    const threshold = Math.min(Math.floor(maxDistance), this.bits);
    if (threshold < 0) return;
    this.writeQuery(query);
    const w = this.kernel.words;
    const out = OUT_OFFSET >> 2;
    for (let at = 0; at < n; at += CANDIDATE_CAPACITY) {
      const m = Math.min(CANDIDATE_CAPACITY, n - at);
      new Uint32Array(w.buffer, CANDIDATES_OFFSET, m).set(records.subarray(at, at + m));
      const emitted = this.kernel.verify(this.stride, m, threshold);
      for (let i = 0; i < emitted; i++) emit(w[out + 2 * i], w[out + 2 * i + 1]);
    }
  }

  /** Query at QUERY_OFFSET, repeated to fill 16 bytes for strides under 16 (see wasm-scan-module). */
  private writeQuery(query: Uint8Array): void {
    const bytes = this.kernel.bytes;
    bytes.fill(0, QUERY_OFFSET, QUERY_OFFSET + 32);
    for (let at = 0; at < Math.max(16, this.stride); at += this.stride) bytes.set(query, QUERY_OFFSET + at);
  }

  private checkRecord(record: number): void {
    if (!(record >= 0 && record < this.records)) throw new RangeError(`record ${record} out of range 0..${this.records - 1}`);
  }
}

/**
 * Drop-in for the reference scanTopK over a packed array, using the fast kernel (copies the
 * codes into a scanner first: for repeated queries keep a HammingScanner instead).
 */
export function fastScanTopK(
  codes: Uint8Array,
  count: number,
  codeBytes: number,
  query: Uint8Array,
  opts: ScanOptions,
  kernel: KernelChoice = 'auto',
): ScanHit[] {
  const scanner = new HammingScanner(codeBytes, { kernel, capacity: count });
  scanner.append(codes.subarray(0, count * codeBytes));
  return scanner.search(query, opts);
}
