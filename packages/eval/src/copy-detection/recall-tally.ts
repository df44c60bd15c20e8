/** Recall@1 counts of one method, per transform. */
export class RecallTally {
  private readonly sums = new Map<string, { hits: number; n: number }>();

  constructor(readonly method: string) {}

  add(transform: string, hit: number): void {
    const s = this.sums.get(transform) ?? { hits: 0, n: 0 };
    s.hits += hit;
    s.n++;
    this.sums.set(transform, s);
  }

  transforms(): string[] {
    return [...this.sums.keys()];
  }

  recall(transform: string): number {
    const s = this.sums.get(transform);
    return s && s.n ? s.hits / s.n : NaN;
  }

  count(transform: string): number {
    return this.sums.get(transform)?.n ?? 0;
  }

  /** Mean over transforms, each weighing the same ("all transforms together"). */
  overall(): number {
    const r = this.transforms().map((t) => this.recall(t));
    return r.reduce((a, b) => a + b, 0) / r.length;
  }

  /** Over all queries (crops, with several positions per photo, weigh more). */
  allQueries(): number {
    let hits = 0;
    let n = 0;
    for (const s of this.sums.values()) {
      hits += s.hits;
      n += s.n;
    }
    return hits / n;
  }

  toJson(): Record<string, number> {
    const out: Record<string, number> = { overall: round(this.overall()), all_queries: round(this.allQueries()) };
    for (const t of this.transforms()) out[t] = round(this.recall(t));
    return out;
  }
}

export function round(v: number, digits = 4): number {
  return Number(v.toFixed(digits));
}
