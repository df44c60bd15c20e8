import type { Job } from 'bullmq';

/**
 * How many times a job is taken back from a worker that died holding it (kill -9, out of memory, a
 * lost host) before BullMQ gives it up (its maxStalledCount; BullMQ's default, 1, gives up on the
 * second death, which a crash-looping deployment reaches easily).
 */
export const MAX_STALLED_COUNT = 3;

/** BullMQ's failure message for a job given up after more than maxStalledCount worker deaths. */
const STALLED_LIMIT = 'job stalled more than allowable limit';

/**
 * Why BullMQ gave `job` up for good after it failed with `err` (a worker's 'failed' event), so the
 * stage can dead-letter it; null when the job will be tried again, or when the processor gave it
 * up itself (an UnrecoverableError thrown after dead-lettering it). `lastAttemptHandled`: the
 * processor dead-letters a job whose last attempt fails, so only worker deaths are left here.
 */
export function givenUpReason(job: Job, err: Error, { lastAttemptHandled = false } = {}): string | null {
  if (err.message === STALLED_LIMIT) {
    return `given up: the worker died holding it ${MAX_STALLED_COUNT + 1} times (killed or out of memory while processing it)`;
  }
  if (lastAttemptHandled || err.name === 'UnrecoverableError' || err.name === 'DelayedError') return null;
  if (job.attemptsMade < (job.opts.attempts ?? 1)) return null;
  return `failed after ${job.attemptsMade} attempts: ${err.message}`;
}
