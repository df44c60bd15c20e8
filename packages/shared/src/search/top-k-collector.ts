import type { ScanHit } from './reference-scan.ts';

/**
 * Exact top-k by (distance, record) for candidates offered in increasing record order.
 * Keeps a distance histogram: once k candidates are at distance <= D, a later record can only
 * enter with distance < D (it would lose the tie by record number), so `threshold` drops to
 * D - 1 and the kernel stops emitting everything else. threshold < 0 means nothing more can enter.
 */
export class TopKCollector {
  threshold: number;
  private records: Int32Array;
  private distances: Uint16Array;
  private size = 0;
  private readonly hist: Int32Array;

  constructor(
    private readonly k: number,
    maxDistance: number,
    bits: number,
  ) {
    this.threshold = k > 0 ? Math.min(Math.floor(maxDistance), bits) : -1;
    this.hist = new Int32Array(bits + 2);
    const initial = Number.isFinite(k) ? Math.min(Math.max(k, 16) * 2, 1 << 20) : 1024;
    this.records = new Int32Array(initial);
    this.distances = new Uint16Array(initial);
  }

  /** Offers one candidate; the caller has already checked distance <= threshold. */
  add(record: number, distance: number): void {
    if (this.size === this.records.length) this.grow();
    this.records[this.size] = record;
    this.distances[this.size++] = distance;
    this.hist[distance]++;
  }

  /** Tightens the threshold after a batch and drops candidates that can no longer make the top k. */
  settle(): void {
    if (this.size < this.k) return;
    let seen = 0;
    let kth = 0;
    while ((seen += this.hist[kth]) < this.k) kth++;
    this.threshold = Math.min(this.threshold, kth - 1);
    if (this.size > 2 * this.k + 64) this.compact(kth);
  }

  results(): ScanHit[] {
    // Counting sort by distance keeps record order within a distance: (distance, record) order.
    const start = new Int32Array(this.hist.length + 1);
    for (let d = 0; d < this.hist.length; d++) start[d + 1] = start[d] + this.hist[d];
    const order = new Int32Array(this.size);
    for (let i = 0; i < this.size; i++) order[start[this.distances[i]]++] = i;
    const n = Math.min(this.size, this.k);
    const hits: ScanHit[] = new Array(n);
    for (let i = 0; i < n; i++) hits[i] = { record: this.records[order[i]], distance: this.distances[order[i]] };
    return hits;
  }

  private compact(maxKept: number): void {
    let w = 0;
    for (let i = 0; i < this.size; i++) {
      const d = this.distances[i];
      if (d <= maxKept) {
        this.records[w] = this.records[i];
        this.distances[w++] = d;
      } else this.hist[d]--;
    }
    this.size = w;
  }

  private grow(): void {
    const records = new Int32Array(this.records.length * 2);
    records.set(this.records);
    const distances = new Uint16Array(this.distances.length * 2);
    distances.set(this.distances);
    this.records = records;
    this.distances = distances;
  }
}
