/**
 * A small Prometheus text-format registry: counters and histograms with labels. Enough for
 * /metrics without another dependency.
 */
type Labels = Record<string, string>;

const labelText = (l: Labels) => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelText(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
    return lines.join('\n');
  }
}

export class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; n: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {}
  observe(value: number, labels: Labels = {}): void {
    const k = labelText(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, n: 0 }));
    this.buckets.forEach((b, i) => { if (value <= b) s!.counts[i]++; });
    s.sum += value;
    s.n++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const inner = k ? k.slice(1, -1) + ',' : '';
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{${inner}le="${b}"} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket{${inner}le="+Inf"} ${s.n}`);
      lines.push(`${this.name}_sum${k} ${s.sum}`, `${this.name}_count${k} ${s.n}`);
    }
    return lines.join('\n');
  }
}

/** A value read at scrape time, per label set (e.g. busy and idle threads); `counter` when it only grows. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => [Labels, number][],
    private readonly type: 'gauge' | 'counter' = 'gauge',
  ) {}
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [labels, v] of this.read()) lines.push(`${this.name}${labelText(labels)} ${v}`);
    return lines.join('\n');
  }
}

export class MetricsRegistry {
  readonly requests = new Counter('loupe_http_requests_total', 'HTTP requests by route and status');
  readonly searchSeconds = new Histogram('loupe_search_duration_seconds', 'Search latency', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  readonly partialSearches = new Counter('loupe_search_partial_total', 'Searches answered with some shards missing');
  readonly overloaded = new Counter('loupe_search_overloaded_total', 'Image queries refused with 503 because every encoding thread was busy and the queue full');
  private readonly gauges: Gauge[] = [];

  /** Adds a gauge read at scrape time (a counter kept elsewhere with type `counter`). */
  gauge(name: string, help: string, read: () => [Labels, number][], type: 'gauge' | 'counter' = 'gauge'): void {
    this.gauges.push(new Gauge(name, help, read, type));
  }

  render(): string {
    return [this.requests, this.searchSeconds, this.partialSearches, this.overloaded, ...this.gauges].map((m) => m.render()).join('\n') + '\n';
  }
}
