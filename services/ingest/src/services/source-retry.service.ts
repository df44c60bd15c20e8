import { setTimeout as sleep } from 'node:timers/promises';
import {
  describeSourceError,
  ImageRejectedError,
  isTransientSourceError,
  ObjectGoneError,
  writeSourceState,
  type Logger,
  type RedisClient,
  type SourceState,
} from '@loupe/shared';

/** While reads keep failing, the state's lastError is written again at most this often. */
const REWRITE_MS = 5_000;

/** Raised, when ingest shuts down, to a read waiting out a source outage and to a listing in progress. */
export class SourceRetryAbortedError extends Error {
  constructor() {
    super('ingest is shutting down');
    this.name = 'SourceRetryAbortedError';
  }
}

export interface SourceRetryOptions {
  /** Wait after the first failure; doubles per failure, with jitter. */
  firstDelayMs: number;
  maxDelayMs: number;
  /**
   * A read fails this many times before it is given up (and the job's own retries take over) —
   * but only if the source answers other reads (one succeeded meanwhile, or the probe does): then
   * the fault is the object's. While nothing succeeds the source is out, and every read waits for it.
   */
  maxTries: number;
}

const DEFAULTS: SourceRetryOptions = { firstDelayMs: 500, maxDelayMs: 30_000, maxTries: 5 };

/**
 * Ingest's reads of the source (listing, fetching, stat) wait out a source that times out or
 * answers 5xx: on top of the SDK's own few quick retries, a read that failed for a reason that may
 * pass (isTransientSourceError) is tried again with exponential back-off. The pause is visible: one
 * log line when reads start failing and one when they work again, and the state (ok, or retrying
 * since when and why) in Redis, where /v1/stats reads it (SourceState).
 */
export class SourceRetryService {
  /** Null until the first read's outcome: a new process reports its first state either way. */
  private state: SourceState | null = null;
  private lastSuccessAt = 0;
  private writtenAt = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly options: SourceRetryOptions;

  constructor(
    private readonly redis: RedisClient,
    private readonly sourceUrl: string,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
    options: Partial<SourceRetryOptions> = {},
    /** A cheap read of the source (one listing page) telling a source that is out from one object that fails. */
    private readonly probe?: () => Promise<void>,
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Runs a source read, trying it again with back-off while it fails transiently (`what` names it in logs). */
  async read<T>(what: string, op: () => Promise<T>): Promise<T> {
    const started = Date.now();
    let retriedWhileUp = false;
    for (let attempt = 1; ; attempt++) {
      if (this.signal.aborted) throw new SourceRetryAbortedError();
      try {
        const value = await op();
        this.succeeded();
        return value;
      } catch (e) {
        if (!isTransientSourceError(e)) {
          // The source answered, about this object (gone, too large): it is up.
          if (e instanceof ObjectGoneError || e instanceof ImageRejectedError) this.succeeded();
          throw e;
        }
        this.failed(e, what);
        if (attempt >= this.options.maxTries && (this.lastSuccessAt > started || (await this.sourceAnswers()))) {
          // Failing although the source answers: the object's fault. Unless the source has only
          // just come back: one more try at once tells.
          if (retriedWhileUp) throw e;
          retriedWhileUp = true;
          continue;
        }
        const delay = Math.min(this.options.maxDelayMs, this.options.firstDelayMs * 2 ** (attempt - 1));
        await sleep(delay * (0.75 + Math.random() / 2), undefined, { signal: this.signal }).catch(() => undefined);
      }
    }
  }

  /** Whether the source answers another read now (the probe): then a read that keeps failing is the object's fault. */
  private async sourceAnswers(): Promise<boolean> {
    if (!this.probe) return false;
    try {
      await this.probe();
    } catch {
      return false;
    }
    this.succeeded();
    return true;
  }

  /** Resolves once the states written so far are in Redis (tests, shutdown). */
  async flushed(): Promise<void> {
    await this.writing;
  }

  private succeeded(): void {
    this.lastSuccessAt = Date.now();
    if (this.state?.state === 'ok') return;
    const was = this.state;
    this.state = { state: 'ok', since: new Date().toISOString(), lastError: was?.lastError ?? null };
    if (was) this.log.info({ event: 'source-ok', source: this.sourceUrl, retryingMs: Date.now() - Date.parse(was.since) }, 'source answers again; reading resumed');
    this.write();
  }

  private failed(err: unknown, what: string): void {
    const lastError = describeSourceError(err);
    if (this.state?.state === 'retrying') {
      this.state.lastError = lastError;
      if (Date.now() - this.writtenAt >= REWRITE_MS) this.write();
      return;
    }
    this.state = { state: 'retrying', since: new Date().toISOString(), lastError };
    this.log.warn({ event: 'source-retrying', source: this.sourceUrl, read: what, err: lastError }, 'source not answering; reads wait and retry with back-off');
    this.write();
  }

  /** Writes the state in order, without holding up the read (Redis may be out as well). */
  private write(): void {
    const state = { ...this.state! };
    this.writtenAt = Date.now();
    this.writing = this.writing
      .then(() => writeSourceState(this.redis, this.sourceUrl, state))
      .catch((e) => this.log.debug({ err: String(e) }, 'source state not written'));
  }
}
