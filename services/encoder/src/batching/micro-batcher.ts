/**
 * Collects items submitted one by one (one per BullMQ job) into batches: a batch runs when it is
 * full or `maxWaitMs` after its first item, and only one batch runs at a time (the CNN uses the
 * whole core anyway). Items that arrive while a batch runs form the next one.
 *
 * If a batch fails, each of its items is retried alone, so one bad item fails only itself.
 */
export class MicroBatcher<I, O> {
  private pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxSize: number,
    private readonly maxWaitMs: number,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxSize) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.maxWaitMs);
    });
  }

  /** Resolves once every submitted item has been processed. */
  async drain(): Promise<void> {
    while (this.running || this.pending.length) {
      this.kick();
      await this.running;
    }
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.maxSize);
    this.running = this.process(batch).finally(() => {
      this.running = undefined;
      // Whatever queued up meanwhile has already waited: run it now.
      if (this.pending.length) this.kick();
    });
  }

  private async process(batch: typeof this.pending): Promise<void> {
    try {
      const out = await this.run(batch.map((b) => b.item));
      batch.forEach((b, i) => b.resolve(out[i]));
    } catch (err) {
      if (batch.length === 1) return batch[0].reject(err);
      for (const b of batch) {
        try {
          b.resolve((await this.run([b.item]))[0]);
        } catch (e) {
          b.reject(e);
        }
      }
    }
  }
}
