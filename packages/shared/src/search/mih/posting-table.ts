/**
 * Postings of one MIH substring: for each substring value, the records having it. A CSR base
 * (offsets into one id array, built in one counting-sort pass) plus small per-value delta lists
 * for records added since; rebuilt from the per-record values when the deltas grow. Entries can
 * be stale (record since re-added under another value, or removed): a stale entry only adds a
 * candidate whose true distance is then computed, and readers filter removed records.
 */
export class PostingTable {
  /** Substring value of every record, the source of truth the postings are built from. */
  values: Uint16Array | Uint32Array;
  private offsets: Uint32Array;
  private ids: Uint32Array = new Uint32Array(0);
  private delta: (number[] | undefined)[] = [];
  private deltaEntries = 0;
  private readonly buckets: number;

  constructor(readonly width: number) {
    this.buckets = 2 ** width;
    this.offsets = new Uint32Array(this.buckets + 1);
    this.values = width <= 16 ? new Uint16Array(1024) : new Uint32Array(1024);
  }

  /** Entries of the delta lists (not yet in the CSR base). */
  get pendingEntries(): number {
    return this.deltaEntries;
  }

  /** Records `value` for `record` without touching the CSR base. */
  add(record: number, value: number): void {
    this.ensure(record + 1);
    this.values[record] = value;
    (this.delta[value] ??= []).push(record);
    this.deltaEntries++;
  }

  /**
   * Rebuilds the CSR base from `values` of records [0, count) whose `removed` byte is 0, and
   * empties the deltas.
   */
  rebuild(count: number, removed: Uint8Array): void {
    const values = this.values;
    const offsets = new Uint32Array(this.buckets + 1);
    let live = 0;
    for (let r = 0; r < count; r++) {
      if (removed[r] === 0) {
        offsets[values[r] + 1]++;
        live++;
      }
    }
    for (let v = 0; v < this.buckets; v++) offsets[v + 1] += offsets[v];
    const ids = new Uint32Array(live);
    const fill = offsets.slice(0, this.buckets);
    for (let r = 0; r < count; r++) if (removed[r] === 0) ids[fill[values[r]]++] = r;
    this.offsets = offsets;
    this.ids = ids;
    this.delta = [];
    this.deltaEntries = 0;
  }

  /** The CSR base as of the last rebuild: ids of value v at ids[offsets[v] .. offsets[v + 1]). */
  base(): { offsets: Uint32Array; ids: Uint32Array } {
    return { offsets: this.offsets, ids: this.ids };
  }

  /** Entries of the CSR base under `value`. */
  baseSize(value: number): number {
    return this.offsets[value + 1] - this.offsets[value];
  }

  /** Appends the records added under `value` since the last rebuild to `out` from `at`; returns the new end. */
  collectDelta(value: number, out: Uint32Array, at: number): number {
    const extra = this.delta[value];
    if (extra) for (let i = 0; i < extra.length; i++) out[at++] = extra[i];
    return at;
  }

  /** Entries under `value` (stale ones included): what visiting it costs. */
  bucketSize(value: number): number {
    return this.offsets[value + 1] - this.offsets[value] + (this.delta[value]?.length ?? 0);
  }

  /**
   * Appends every record listed under `value` (base, then delta) to `out` from `at`; returns the
   * new end. `out` must have room for bucketSize(value) more.
   */
  collect(value: number, out: Uint32Array, at: number): number {
    const ids = this.ids;
    // A plain loop: buckets are short and subarray() would allocate per bucket.
    for (let i = this.offsets[value], end = this.offsets[value + 1]; i < end; i++) out[at++] = ids[i];
    const extra = this.delta[value];
    if (extra) for (let i = 0; i < extra.length; i++) out[at++] = extra[i];
    return at;
  }

  /** Makes `values` hold at least `records` entries. */
  ensure(records: number): void {
    if (records <= this.values.length) return;
    const size = Math.max(records, this.values.length * 2);
    const next = this.width <= 16 ? new Uint16Array(size) : new Uint32Array(size);
    next.set(this.values);
    this.values = next;
  }
}
