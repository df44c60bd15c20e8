import type { ScanHit } from './reference-scan.ts';

/**
 * Exact top-k by (distance, record) for candidates offered in increasing record order.
 * Keeps a distance histogram: once k candidates are at distance <= D, a later record can only
 * enter with distance < D (it would lose the tie by record number), so `threshold` drops to
 * D - 1 and the kernel stops emitting everything else. threshold < 0 means nothing more can enter.
 */
export class TopKCollector {
  threshold: number;
  // Plain arrays, not typed ones: a search makes one collector per probe and shard (hundreds per
  // query), and V8 allocates a typed array of this size outside its heap at ~3 us each, against
  // well under 1 us for these (measured: 17 us of fixed cost per search before, most of a small
  // shard's scan).
  private readonly records: number[] = [];
  private readonly distances: number[] = [];
  private readonly hist: number[];

  constructor(
    private readonly k: number,
    maxDistance: number,
    bits: number,
  ) {
    this.threshold = k > 0 ? Math.min(Math.floor(maxDistance), bits) : -1;
    this.hist = new Array<number>(bits + 2).fill(0);
  }

  /** Offers one candidate; the caller has already checked distance <= threshold. */
  add(record: number, distance: number): void {
    this.records.push(record);
    this.distances.push(distance);
    this.hist[distance]++;
  }

  /** Tightens the threshold after a batch and drops candidates that can no longer make the top k. */
  settle(): void {
    if (this.records.length < this.k) return;
    let seen = 0;
    let kth = 0;
    while ((seen += this.hist[kth]) < this.k) kth++;
    this.threshold = Math.min(this.threshold, kth - 1);
    if (this.records.length > 2 * this.k + 64) this.compact(kth);
  }

  results(): ScanHit[] {
    const size = this.records.length;
    const n = Math.min(size, this.k);
    if (!n) return [];
    // Counting sort by distance keeps record order within a distance: (distance, record) order.
    // Only the distances up to the k-th are placed.
    const start: number[] = [];
    let kept = 0;
    let top = 0;
    for (; kept < n; top++) {
      start.push(kept);
      kept += this.hist[top];
    }
    const order = new Array<number>(kept);
    for (let i = 0; i < size; i++) {
      const d = this.distances[i];
      if (d < top) order[start[d]++] = i;
    }
    const hits: ScanHit[] = new Array(n);
    for (let i = 0; i < n; i++) hits[i] = { record: this.records[order[i]], distance: this.distances[order[i]] };
    return hits;
  }

  private compact(maxKept: number): void {
    let w = 0;
    const size = this.records.length;
    for (let i = 0; i < size; i++) {
      const d = this.distances[i];
      if (d <= maxKept) {
        this.records[w] = this.records[i];
        this.distances[w++] = d;
      } else this.hist[d]--;
    }
    this.records.length = w;
    this.distances.length = w;
  }
}
