import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@loupe/shared';
import type { QueueMessage, SqsEventQueueRepository } from '../repositories/sqs-event-queue.repository.ts';
import { EventMessageError } from './s3-event-message.ts';
import type { EventCounts, S3EventService } from './s3-event.service.ts';
import { SourceRetryAbortedError } from './source-retry.service.ts';

export interface EventConsumerOptions {
  /** Messages received and not yet done, at most (default 40). */
  maxInFlight?: number;
  /** Long-poll wait of one receive, s (default 20, the SQS maximum). */
  waitSeconds?: number;
}

interface Summary extends EventCounts {
  received: number;
  rejected: number;
  failed: number;
}

const RECEIVE_MAX = 10; // SQS's limit per receive
const BACKOFF_MS = { first: 500, max: 30_000 };
const SUMMARY_EVERY_MS = 60_000;

/**
 * Consumes the event queue: long polls, hands each message to S3EventService, and deletes a
 * message only once what it asked for is queued in Redis (at least once: a message whose jobs
 * could not be queued comes back after its visibility timeout). At most `maxInFlight` messages are
 * being handled at a time. Failures (queue unreachable, Redis down) back off exponentially up to
 * 30 s. A message that is not an S3 event is left in the queue: SQS hands it out again and, with a
 * redrive policy, moves it to the queue's dead-letter queue. stop() ends the long poll at once and
 * waits for the messages in hand.
 */
export class EventConsumerService {
  private readonly stopping = new AbortController();
  private readonly batches = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;
  private inFlight = 0;
  private failures = 0;
  private summary = emptySummary();
  private summarySince = Date.now();
  private readonly maxInFlight: number;
  private readonly waitSeconds: number;

  constructor(
    private readonly queue: SqsEventQueueRepository,
    private readonly events: S3EventService,
    private readonly logger: Logger,
    options: EventConsumerOptions = {},
  ) {
    this.maxInFlight = Math.max(RECEIVE_MAX, options.maxInFlight ?? 40);
    this.waitSeconds = options.waitSeconds ?? 20;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      if (this.failures > 0) {
        await sleep(Math.min(BACKOFF_MS.max, BACKOFF_MS.first * 2 ** (this.failures - 1)), undefined, { signal }).catch(() => undefined);
        if (signal.aborted) break;
      }
      if (this.inFlight + RECEIVE_MAX > this.maxInFlight) {
        await Promise.race(this.batches);
        continue;
      }
      let messages: QueueMessage[];
      try {
        messages = await this.queue.receive(RECEIVE_MAX, this.waitSeconds, signal);
      } catch (e) {
        if (signal.aborted) break;
        this.failed(e, 'receive');
        continue;
      }
      if (!messages.length) {
        this.failures = 0;
        this.logSummary();
        continue;
      }
      this.summary.received += messages.length;
      this.inFlight += messages.length;
      const batch = this.handleBatch(messages).finally(() => {
        this.inFlight -= messages.length;
        this.batches.delete(batch);
      });
      this.batches.add(batch);
      if (Date.now() - this.summarySince >= SUMMARY_EVERY_MS) this.logSummary();
    }
    await Promise.all(this.batches);
    this.logSummary();
  }

  private async handleBatch(messages: QueueMessage[]): Promise<void> {
    const done: QueueMessage[] = [];
    let failed = 0;
    await Promise.all(
      messages.map(async (m) => {
        try {
          const counts = await this.events.handle(m.body, this.stopping.signal);
          this.summary.applied += counts.applied;
          this.summary.stale += counts.stale;
          this.summary.ignored += counts.ignored;
          done.push(m);
        } catch (e) {
          if (e instanceof SourceRetryAbortedError || (this.stopping.signal.aborted && (e === this.stopping.signal.reason || (e as Error)?.name === 'AbortError'))) {
            // Stopped while waiting for the source's lock (a pass holds it) or for the source: SQS delivers it again.
            this.logger.debug({ event: 'event-left', messageId: m.id }, 'stopping: message left for redelivery');
          } else if (e instanceof EventMessageError) {
            this.summary.rejected++;
            this.logger.warn({ event: 'event-rejected', messageId: m.id, receiveCount: m.receiveCount, reason: e.message, body: m.body.slice(0, 200) },
              'queue message is not an S3 event notification: left in the queue');
          } else {
            failed++;
            this.summary.failed++;
            this.logger.error({ event: 'event-failed', messageId: m.id, err: e }, 'event not applied: the message will be delivered again');
          }
        }
      }),
    );
    try {
      const notDeleted = await this.queue.delete(done);
      if (notDeleted.length) this.logger.warn({ event: 'events-error', notDeleted }, 'messages not deleted: they will be applied again (no change)');
    } catch (e) {
      // Applied already: when they come back they are not newer than themselves, and are dropped.
      this.logger.warn({ event: 'events-error', op: 'delete', err: e }, 'messages not deleted: they will be applied again (no change)');
    }
    if (failed) this.failed(null, 'apply');
    else this.failures = 0;
  }

  private failed(err: unknown, op: 'receive' | 'apply'): void {
    this.failures++;
    const retryInMs = Math.min(BACKOFF_MS.max, BACKOFF_MS.first * 2 ** (this.failures - 1));
    this.logger.warn({ event: 'events-error', op, failures: this.failures, retryInMs, ...(err ? { err } : {}) }, `event queue ${op} failed: backing off`);
  }

  /** One line per burst of events (when the queue goes quiet) or per minute while it never does. */
  private logSummary(): void {
    const s = this.summary;
    this.summary = emptySummary();
    this.summarySince = Date.now();
    if (s.received) this.logger.info({ event: 'events', queue: this.queue.queueUrl, ...s }, 'events applied');
  }
}

function emptySummary(): Summary {
  return { received: 0, applied: 0, stale: 0, ignored: 0, rejected: 0, failed: 0 };
}
