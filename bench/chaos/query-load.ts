import type { SeededRandom } from '@loupe/shared';

/** What the queries of a run got back. */
export interface QueryTally {
  /** Answers by HTTP status. */
  statuses: Record<number, number>;
  /** Requests refused: the query service was down (killed, restarting). */
  refused: number;
  /** Requests that got no answer within 10 s. */
  timedOut: number;
  /** Answers the service must never give: a 5xx other than 503. */
  serverErrors: number;
}

/**
 * Image queries (bytes of a bucket image) and key queries (a key the bucket holds) one after the
 * other, `intervalMs` apart, for as long as the run lasts.
 */
export class QueryLoad {
  readonly tally: QueryTally = { statuses: {}, refused: 0, timedOut: 0, serverErrors: 0 };
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly base: string,
    private readonly random: SeededRandom,
    private readonly intervalMs = 250,
  ) {}

  /** Starts querying; `pick` gives an image's bytes or a key to look up. */
  start(pickImage: () => { body: Buffer; type: string }, pickKey: () => string | undefined): void {
    this.running = true;
    this.loop = (async () => {
      for (let i = 0; this.running; i++) {
        const key = i % 2 ? pickKey() : undefined;
        const image = key === undefined ? pickImage() : undefined;
        await this.ask(image
          ? { headers: { 'content-type': image.type }, body: new Uint8Array(image.body) }
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
        await new Promise((r) => setTimeout(r, this.intervalMs * (0.5 + this.random.next())));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async ask(init: { headers: Record<string, string>; body: BodyInit }): Promise<void> {
    try {
      const res = await fetch(`${this.base}/v1/search?k=5`, { method: 'POST', ...init, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      this.tally.statuses[res.status] = (this.tally.statuses[res.status] ?? 0) + 1;
      if (res.status >= 500 && res.status !== 503) this.tally.serverErrors++;
    } catch (e) {
      const code = ((e as Error).cause as { code?: string } | undefined)?.code;
      if (code === 'ECONNREFUSED') this.tally.refused++;
      else this.tally.timedOut++;
    }
  }
}
