import { z } from 'zod';

/**
 * Job payloads of every queue. Producers build them with these types; consumers parse them with
 * the schemas (parseJob) so a malformed job fails loudly at the boundary.
 */

const objectKey = z.string().min(1).max(1024);
const etag = z.string().min(1).max(256);
const hex = z.string().regex(/^(?:[0-9a-f]{2})+$/, 'lower-case hex');
/** Index generation (namespace) a job is for alone: a rollout's re-encode. Absent = every live one. */
const generation = z.string().min(1).max(200).optional();
/**
 * Object version (redis/object-version.ts): larger = seen later; the indexer refuses a write older
 * than what it holds for the key. Stamped by discovery and carried unchanged to the index job.
 * Absent (jobs queued before versions existed) = UNVERSIONED, the oldest.
 */
const version = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional();
/** The object's size in bytes as fetched: carried to the duplicate groups (largest file, reclaimable bytes). */
const bytes = z.number().int().nonnegative().optional();

export const IngestJobSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('upsert'), key: objectKey, etag, size: z.number().int().nonnegative().optional(), generation, version }),
  z.object({ op: z.literal('delete'), key: objectKey, version }),
]);
export type IngestJob = z.infer<typeof IngestJobSchema>;

export const BoxSchema = z.object({
  x: z.number().int().nonnegative(),
  y: z.number().int().nonnegative(),
  w: z.number().int().positive(),
  h: z.number().int().positive(),
});

export const ViewSchema = z.object({
  level: z.number().int().nonnegative(),
  index: z.number().int().nonnegative(),
  box: BoxSchema,
});

/** A decoded, validated image ready for the CNN: the canonical raster plus its views. */
export const EncodeJobSchema = z.object({
  key: objectKey,
  etag,
  /** Source size after EXIF orientation; boxes are in these pixels. */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Canonical raster (see CanonicalImage), base64. */
  image: z.string().min(1),
  views: z.array(ViewSchema).min(1),
  generation,
  version,
  bytes,
});
export type EncodeJob = z.infer<typeof EncodeJobSchema>;

export const IndexJobSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('upsert'),
    key: objectKey,
    etag,
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    model: z.string().min(1),
    bits: z.number().int().positive(),
    /** One code per view, in plan order, as hex. */
    views: z.array(ViewSchema.extend({ code: hex })).min(1),
    version,
    bytes,
  }),
  z.object({ op: z.literal('delete'), key: objectKey, version }),
]);
export type IndexJob = z.infer<typeof IndexJobSchema>;

/**
 * Duplicate-group upkeep of one key (services/query/src/groups): queued by the indexer after it
 * wrote or deleted the key in the active index. The worker looks at what the index holds for the
 * key when it runs, so the op only says which write queued it; an upsert brings the object's size.
 */
export const GroupJobSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('upsert'), key: objectKey, width: z.number().int().positive(), height: z.number().int().positive(), bytes, version }),
  z.object({ op: z.literal('delete'), key: objectKey }),
]);
export type GroupJob = z.infer<typeof GroupJobSchema>;

export const DeadJobSchema = z.object({
  stage: z.enum(['ingest', 'encode', 'index']),
  key: objectKey,
  etag: etag.optional(),
  reason: z.string(),
  at: z.string(),
});
export type DeadJob = z.infer<typeof DeadJobSchema>;

export class JobValidationError extends Error {
  constructor(queue: string, message: string) {
    super(`invalid ${queue} job: ${message}`);
    this.name = 'JobValidationError';
  }
}

export function parseJob<T>(schema: z.ZodType<T>, queue: string, data: unknown): T {
  const r = schema.safeParse(data);
  if (!r.success) {
    throw new JobValidationError(
      queue,
      r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    );
  }
  return r.data;
}
