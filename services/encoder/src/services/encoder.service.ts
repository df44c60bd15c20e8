import type { Queue } from 'bullmq';
import {
  bytesToHex,
  decodeCanonical,
  deadLetter,
  EncodeJobSchema,
  JobValidationError,
  indexJobId,
  parseJob,
  QueueNames,
  type EncodeJob,
  type HashModel,
  type IndexJob,
  type Logger,
  type RgbRaster,
  type ViewCode,
} from '@loupe/shared';
import { MicroBatcher } from '../batching/micro-batcher.ts';

/** A job that can never succeed (malformed payload, undecodable raster, views the model lacks). */
export class UnencodableJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnencodableJobError';
  }
}

interface Prepared {
  job: EncodeJob;
  raster: RgbRaster;
}

export type EncodeOutcome = { status: 'indexed'; views: number } | { status: 'dead'; reason: string };

/**
 * Turns encode jobs into index jobs: validates, decodes the canonical raster, encodes all views
 * with the hash model (batched across concurrent jobs), and queues the codes for the indexer.
 * Permanent failures go to the dead-letter queue; transient ones are thrown for BullMQ to retry.
 */
export class EncoderService {
  private readonly batcher: MicroBatcher<Prepared, ViewCode[]>;

  constructor(
    private readonly model: HashModel,
    private readonly indexQueue: Queue,
    private readonly deadQueue: Queue,
    private readonly log: Logger,
    batch: { maxSize: number; maxWaitMs: number },
  ) {
    this.batcher = new MicroBatcher((items) => this.encodeBatch(items), batch.maxSize, batch.maxWaitMs);
  }

  async handle(data: unknown): Promise<EncodeOutcome> {
    let job: EncodeJob | undefined;
    try {
      job = parseJob(EncodeJobSchema, QueueNames.encode, data);
      const prepared = await this.prepare(job);
      const codes = await this.batcher.submit(prepared);
      await this.indexQueue.add('upsert', this.indexJob(job, codes), { jobId: indexJobId(job.key, job.etag, this.model.id) });
      return { status: 'indexed', views: codes.length };
    } catch (err) {
      if (!(err instanceof UnencodableJobError || err instanceof JobValidationError)) throw err;
      const { key, etag } = identify(job ?? data);
      await this.deadLetter(key, etag, err.message);
      return { status: 'dead', reason: err.message };
    }
  }

  /** Dead-letters a job BullMQ gave up on after its last attempt. */
  async deadLetter(key: string, etag: string | undefined, reason: string): Promise<void> {
    await deadLetter(this.deadQueue, { stage: 'encode', key, etag, reason });
    this.log.warn({ key, etag, reason }, 'encode job dead-lettered');
  }

  /** Waits for batches in flight (used on close). */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private async prepare(job: EncodeJob): Promise<Prepared> {
    const levels = this.model.plan.levels.length;
    const bad = job.views.find((v) => v.level >= levels);
    if (bad) throw new UnencodableJobError(`view level ${bad.level} is not in model ${this.model.id} (${levels} levels)`);
    let raster: RgbRaster;
    try {
      raster = await decodeCanonical(job.image);
    } catch (e) {
      throw new UnencodableJobError(`bad canonical raster: ${(e as Error).message}`);
    }
    return { job, raster };
  }

  private async encodeBatch(items: Prepared[]): Promise<ViewCode[][]> {
    const t0 = performance.now();
    const codes = await this.model.encode(items.map(({ job, raster }) => ({ image: raster, width: job.width, height: job.height, views: job.views })));
    this.log.debug({ images: items.length, ms: Math.round(performance.now() - t0) }, 'encoded batch');
    return codes;
  }

  private indexJob(job: EncodeJob, codes: ViewCode[]): IndexJob {
    return {
      op: 'upsert',
      key: job.key,
      etag: job.etag,
      width: job.width,
      height: job.height,
      model: this.model.id,
      bits: this.model.bits,
      views: codes.map((c) => ({ level: c.level, index: c.index, box: c.box, code: bytesToHex(c.code) })),
    };
  }
}

/** Key and etag of a job payload, as far as it has them (for the dead-letter entry). */
export function identify(data: unknown): { key: string; etag?: string } {
  const d = (data ?? {}) as { key?: unknown; etag?: unknown };
  const key = typeof d.key === 'string' && d.key.length > 0 ? d.key.slice(0, 1024) : '(unknown key)';
  return { key, etag: typeof d.etag === 'string' && d.etag.length > 0 ? d.etag.slice(0, 256) : undefined };
}
