/**
 * Runs the searches of the jobs in flight together: at most `inFlight` fan-outs at a time, and the
 * searches asked for meanwhile go as one batch in the next. A fan-out costs about the same for 2
 * probes as for 18 (docs/benchmarks.md, Duplicate groups), so the upkeep pays it once per batch.
 */
export class SearchBatcher<I, O> {
  private queued: { input: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private running = 0;

  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    private readonly inFlight = 2,
  ) {}

  search(input: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queued.push({ input, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.running >= this.inFlight || !this.queued.length) return;
    const batch = this.queued.splice(0);
    this.running++;
    this.run(batch.map((b) => b.input))
      .then(
        (out) => batch.forEach((b, i) => b.resolve(out[i])),
        (e) => batch.forEach((b) => b.reject(e)),
      )
      .finally(() => {
        this.running--;
        this.next();
      });
  }
}
