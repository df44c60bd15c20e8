import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import {
  deadLetter,
  describeSourceError,
  IngestJobSchema,
  ImageRejectedError,
  JobValidationError,
  objectJobId,
  parseJob,
  prepareImage,
  QueueNames,
  type DeadLetterRepository,
  type ImageLimits,
  type IndexJob,
  type IngestJob,
  type Logger,
  type ViewPlan,
  ObjectGoneError,
  type ObjectSource,
  sniffVideoFormat,
  RejectedInputError,
} from '@loupe/shared';
import { BackpressureClosedError, type BackpressureService } from './backpressure.service.ts';
import { SourceRetryAbortedError, type SourceRetryService } from './source-retry.service.ts';
import { queueEncode } from './encode-job.ts';
import type { VideoIngestService } from './video-ingest.service.ts';

export type IngestOutcome =
  | { status: 'encoded'; width: number; height: number }
  | { status: 'video'; frames: number }
  | { status: 'dead-lettered'; reason: string }
  | { status: 'gone'; why: string }
  | { status: 'delete-queued' }
  | { status: 'delete-skipped' };

export interface IngestJobDeps {
  source: ObjectSource;
  encodeQueue: Queue;
  indexQueue: Queue;
  deadQueue: Queue;
  /** Objects failed now (written beside the dead-letter queue). */
  failed: DeadLetterRepository;
  backpressure: BackpressureService;
  /** Source reads wait out a source that times out or answers 5xx, instead of spending the job's attempts. */
  retry: SourceRetryService;
  limits: ImageLimits;
  /** Videos (sniffed from the bytes) are cut into keyframes there. */
  video: VideoIngestService;
  /** Largest video in bytes (LOUPE_VIDEO_MAX_BYTES): what is over both limits is never downloaded. */
  videoMaxBytes: number;
  plan?: ViewPlan;
  logger: Logger;
}

/**
 * What the ingest worker does with one job. Upsert: fetch the bytes of exactly the listed
 * version, prepare the image, hand it to the encode queue. Delete: hand a delete to the index
 * queue. A source that times out or answers 5xx is waited out (SourceRetryService); what still
 * fails throws and gets BullMQ's retries; a bad image is dead-lettered and the job completes, and
 * nothing else stops the worker.
 */
export class IngestJobService {
  constructor(private readonly deps: IngestJobDeps) {}

  async process(job: Job, token?: string): Promise<IngestOutcome> {
    let data;
    try {
      data = parseJob(IngestJobSchema, QueueNames.ingest, job.data);
    } catch (e) {
      // A malformed job is a producer bug: retrying cannot fix it.
      if (e instanceof JobValidationError) throw new UnrecoverableError(e.message);
      throw e;
    }
    try {
      if (data.op === 'delete') return await this.remove(data, job);
      return await this.upsert(data, job);
    } catch (e) {
      if ((e instanceof BackpressureClosedError || e instanceof SourceRetryAbortedError) && token) {
        // Shutting down while held back or waiting for the source: put the job back without spending an attempt.
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
      throw e;
    }
  }

  private async upsert(data: Extract<IngestJob, { op: 'upsert' }>, job: Job): Promise<IngestOutcome> {
    const { key, etag, size, generation, version } = data;
    const { source, encodeQueue, backpressure, limits, plan, logger, video } = this.deps;
    // What the bytes are is not known before they are read: an object may be as large as a video.
    const maxBytes = Math.max(limits.maxBytes, this.deps.videoMaxBytes);
    const release = await backpressure.acquire();
    try {
      if (size !== undefined && size > maxBytes) {
        // Refused from the listing's size: the bytes are never downloaded.
        throw new ImageRejectedError('too-large-bytes', `${size} bytes is over the limit of ${maxBytes}`);
      }
      const bytes = await this.deps.retry.read(key, () => source.get(key, { etag, maxBytes }));
      if (sniffVideoFormat(bytes)) return { status: 'video', ...(await video.ingest(data, bytes)) };
      // A video before, an image now: its frames go.
      if (!generation) await video.dropFrames(key, version, `${etag}\u0000${version ?? ''}`);
      const image = await prepareImage(bytes, limits, plan);
      await queueEncode(encodeQueue, key, data, image, bytes.length);
      logger.debug({ key, etag, width: image.width, height: image.height, format: image.format }, 'image prepared');
      return { status: 'encoded', width: image.width, height: image.height };
    } catch (e) {
      if (e instanceof SourceRetryAbortedError) throw e;
      if (e instanceof RejectedInputError) return this.deadLetter(key, etag, e.describe());
      if (e instanceof ObjectGoneError) {
        // Discovery will see the deletion or the new version and make its own job.
        logger.info({ event: 'object-gone', key, etag, why: e.why }, 'object gone before it was fetched');
        return { status: 'gone', why: e.why };
      }
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        await this.deadLetter(key, etag, `fetch-failed: ${describeSourceError(e)} (after ${job.attemptsMade + 1} attempts)`);
      }
      throw e;
    } finally {
      release();
    }
  }

  private async remove({ key, version }: Extract<IngestJob, { op: 'delete' }>, job: Job): Promise<IngestOutcome> {
    const { source, indexQueue, logger } = this.deps;
    // Re-created since discovery saw it gone: its upsert (a newer version) replaces the old one.
    if (await this.deps.retry.read(key, () => source.stat(key))) {
      logger.info({ event: 'delete-skipped', key }, 'object exists again, delete skipped');
      return { status: 'delete-skipped' };
    }
    // The version orders it against upserts of the key, so a late older one cannot bring it back.
    const del: IndexJob = { op: 'delete', key, ...(version !== undefined ? { version } : {}) };
    // The ingest job's creation time is stable across its retries and distinct per deletion.
    await indexQueue.add('delete', del, { jobId: objectJobId('index-del', key, String(job.timestamp)) });
    const frames = await this.deps.video.dropFrames(key, version, String(job.timestamp));
    logger.info({ event: 'delete', key, ...(frames ? { frames } : {}) }, 'delete queued');
    return { status: 'delete-queued' };
  }

  /** Dead-letters a job BullMQ gave up on outside the processor (its workers died holding it). */
  async deadLetterGivenUp(job: Job, reason: string): Promise<void> {
    const data = job.data as { key?: string; etag?: string };
    await this.deadLetter(String(data?.key ?? job.id), data?.etag ?? '', reason);
  }

  private async deadLetter(key: string, etag: string, reason: string): Promise<IngestOutcome> {
    await deadLetter(this.deps.deadQueue, this.deps.failed, { stage: 'ingest', key, etag, reason });
    this.deps.logger.warn({ event: 'dead-letter', key, etag, reason }, 'object dead-lettered');
    return { status: 'dead-lettered', reason };
  }
}
