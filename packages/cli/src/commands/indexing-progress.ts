/** The counters of /v1/stats progress is made from. */
export interface ProgressStats {
  indexed: number;
  pending: number;
  failed: number;
}

/**
 * Indexing progress for people, from the query service's counters every `intervalMs`: on a TTY one
 * line rewritten in place with a bar, elsewhere a line per interval while objects are pending; a
 * last line when the backlog is done. Nothing while nothing is pending.
 */
export class IndexingProgress {
  private last: ProgressStats | undefined;
  private lastAt = 0;
  private busy = false;

  constructor(
    private readonly read: () => Promise<ProgressStats | undefined>,
    private readonly out: { write(s: string): unknown; isTTY?: boolean },
    private readonly intervalMs = 5000,
  ) {}

  /** Reports until `stopped()` says so. */
  async run(stopped: () => boolean): Promise<void> {
    while (!stopped()) {
      const s = await this.read().catch(() => undefined);
      if (s && !stopped()) this.report(s, Date.now());
      await new Promise((r) => setTimeout(r, this.intervalMs).unref());
    }
  }

  /** One report of the counters read at `now` (ms). */
  report(s: ProgressStats, now: number): void {
    const prev = this.last;
    const rate = prev && now > this.lastAt ? ((s.indexed - prev.indexed) * 1000) / (now - this.lastAt) : undefined;
    this.last = s;
    this.lastAt = now;
    if (s.pending > 0) {
      this.busy = true;
      const line = progressLine(s, rate);
      this.out.write(this.out.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
    } else if (this.busy) {
      this.busy = false;
      this.out.write(`${this.out.isTTY ? '\r\x1b[2K' : ''}indexing done: ${s.indexed} indexed, ${s.failed} failed (loupe stats for more)\n`);
    }
  }
}

/** `[#####-----]  50%  120 indexed, 120 pending, 1 failed, 11.3 images/s` */
export function progressLine(s: ProgressStats, ratePerS?: number): string {
  const total = s.indexed + s.pending;
  const share = total ? s.indexed / total : 0;
  const width = 24;
  const filled = Math.round(share * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const rate = ratePerS === undefined ? '' : `, ${Math.max(0, ratePerS).toFixed(1)} images/s`;
  return `${bar} ${String(Math.floor(share * 100)).padStart(3)}%  ${s.indexed} indexed, ${s.pending} pending, ${s.failed} failed${rate}`;
}
