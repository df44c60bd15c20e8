import type { Queue } from 'bullmq';
import {
  bytesToHex,
  decodeCanonical,
  deadLetter,
  EncodeJobSchema,
  type DeadLetterRepository,
  JobValidationError,
  indexJobId,
  parseJob,
  planViews,
  QueueNames,
  type EncodeJob,
  type HashModel,
  type IndexJob,
  type Logger,
  type RgbRaster,
  type ViewCode,
} from '@loupe/shared';
import { MicroBatcher } from '../batching/micro-batcher.ts';
import type { EncodeTarget, GenerationModels } from './generation-models.ts';

/** A job that can never succeed (malformed payload, undecodable raster). */
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

export type EncodeOutcome = { status: 'indexed'; views: number; generations: number } | { status: 'dead'; reason: string };

/**
 * Turns encode jobs into index jobs: validates, decodes the canonical raster, encodes all views
 * with the model of each live index generation (batched across concurrent jobs, one batcher per
 * model), and queues the codes for the indexer. Permanent failures go to the dead-letter queue;
 * transient ones are thrown for BullMQ to retry.
 */
export class EncoderService {
  private readonly batchers = new Map<HashModel, MicroBatcher<Prepared, ViewCode[]>>();
  private readonly batch: { maxSize: number; maxWaitMs: number };
  /** Images encoded and the wall time spent in the model's encode since start (the encoder's own rate). */
  readonly totals = { images: 0, encodeMs: 0 };

  constructor(
    private readonly models: GenerationModels,
    private readonly indexQueue: Queue,
    private readonly deadQueue: Queue,
    private readonly failed: DeadLetterRepository,
    private readonly log: Logger,
    batch: { maxSize: number; maxWaitMs: number },
  ) {
    this.batch = batch;
  }

  async handle(data: unknown): Promise<EncodeOutcome> {
    let job: EncodeJob | undefined;
    try {
      job = parseJob(EncodeJobSchema, QueueNames.encode, data);
      const targets = await this.models.targets(job.generation);
      if (targets.length === 0) this.log.info({ key: job.key, generation: job.generation }, 'index generation gone, encode job dropped');
      let raster: RgbRaster | undefined;
      let views = 0;
      for (const target of targets) {
        raster ??= await this.decode(job);
        const codes = await this.encodeFor(target, job, raster);
        await this.indexQueue.add('upsert', this.indexJob(job, target.model, codes), { jobId: indexJobId(job.key, job.etag, target.model.id, job.version) });
        views += codes.length;
      }
      return { status: 'indexed', views, generations: targets.length };
    } catch (err) {
      if (!(err instanceof UnencodableJobError || err instanceof JobValidationError)) throw err;
      const { key, etag } = identify(job ?? data);
      await this.deadLetter(key, etag, err.message);
      return { status: 'dead', reason: err.message };
    }
  }

  /** Dead-letters a job BullMQ gave up on after its last attempt. */
  async deadLetter(key: string, etag: string | undefined, reason: string): Promise<void> {
    await deadLetter(this.deadQueue, this.failed, { stage: 'encode', key, etag, reason });
    this.log.warn({ key, etag, reason }, 'encode job dead-lettered');
  }

  /** Waits for batches in flight (used on close). */
  async drain(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.drain()));
  }

  private async decode(job: EncodeJob): Promise<RgbRaster> {
    try {
      return await decodeCanonical(job.image);
    } catch (e) {
      throw new UnencodableJobError(`bad canonical raster: ${(e as Error).message}`);
    }
  }

  private encodeFor({ model }: EncodeTarget, job: EncodeJob, raster: RgbRaster): Promise<ViewCode[]> {
    let batcher = this.batchers.get(model);
    if (!batcher) {
      batcher = new MicroBatcher((items) => this.encodeBatch(model, items), this.batch.maxSize, this.batch.maxWaitMs);
      this.batchers.set(model, batcher);
    }
    return batcher.submit({ job, raster });
  }

  private async encodeBatch(model: HashModel, items: Prepared[]): Promise<ViewCode[][]> {
    const t0 = performance.now();
    // The model's own plan, not the job's views: ingest cuts views by the default plan, while a
    // model may add levels (a perceptual level, a finer pyramid); the boxes follow from the size.
    const codes = await model.encode(items.map(({ job, raster }) => ({ image: raster, width: job.width, height: job.height, views: planViews(model.plan, job.width, job.height) })));
    const ms = performance.now() - t0;
    this.totals.images += items.length;
    this.totals.encodeMs += ms;
    this.log.debug({ model: model.id, images: items.length, ms: Math.round(ms) }, 'encoded batch');
    return codes;
  }

  private indexJob(job: EncodeJob, model: HashModel, codes: ViewCode[]): IndexJob {
    return {
      op: 'upsert',
      key: job.key,
      etag: job.etag,
      width: job.width,
      height: job.height,
      model: model.id,
      bits: model.bits,
      views: codes.map((c) => ({ level: c.level, index: c.index, box: c.box, code: bytesToHex(c.code) })),
      // Carried unchanged: the indexer orders this code set against other versions of the key by it.
      ...(job.version !== undefined ? { version: job.version } : {}),
      ...(job.bytes !== undefined ? { bytes: job.bytes } : {}),
    };
  }
}

/** Key and etag of a job payload, as far as it has them (for the dead-letter entry). */
export function identify(data: unknown): { key: string; etag?: string } {
  const d = (data ?? {}) as { key?: unknown; etag?: unknown };
  const key = typeof d.key === 'string' && d.key.length > 0 ? d.key.slice(0, 1024) : '(unknown key)';
  return { key, etag: typeof d.etag === 'string' && d.etag.length > 0 ? d.etag.slice(0, 256) : undefined };
}
