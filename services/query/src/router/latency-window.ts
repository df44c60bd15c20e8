/**
 * The last `size` call durations, for the hedge delay: a call slower than most (the p95) gets a
 * second replica asked in parallel.
 */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;

  constructor(size = 256) {
    this.samples = new Float64Array(size);
  }

  add(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    this.count = Math.min(this.count + 1, this.samples.length);
  }

  /** The q-quantile (0..1) of the window, or `fallback` while it holds fewer than `minSamples`. */
  quantile(q: number, fallback: number, minSamples = 20): number {
    if (this.count < minSamples) return fallback;
    const sorted = Array.from(this.samples.subarray(0, this.count)).sort((a, b) => a - b);
    return sorted[Math.min(this.count - 1, Math.floor(q * this.count))];
  }
}
