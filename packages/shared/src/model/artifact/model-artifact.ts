import { z } from 'zod';
import type { ViewPlan } from '../../view/view-plan.ts';
import { DescriptorConfigSchema, type DescriptorConfig } from '../descriptor/descriptor-config.ts';
import { HeadSpecSchema, type HeadSpec, type NamedTensor } from '../head/hash-head.ts';
import type { QueryPlan } from '../../search/fusion/query-plan.ts';

/**
 * Hash-model artifact, the unit `loupe train` writes and every encoder/query process loads:
 *
 *   bytes 0..7    magic "LOUPEHM1"
 *   bytes 8..11   header length L, uint32 little-endian
 *   bytes 12..    header: UTF-8 JSON (ModelArtifactHeader), space-padded so the data is 4-aligned
 *   then          float32 little-endian tensors, back to back, in header.tensors order
 *
 * The header says everything codes depend on (backbone, descriptor config, view plan, head), so
 * two processes that load the same artifact produce the same codes; `id` travels with the codes.
 */
export const ARTIFACT_MAGIC = 'LOUPEHM1';
export const ARTIFACT_VERSION = 1;

const ViewPlanSchema = z.object({
  levels: z
    .array(
      z.object({
        name: z.string().min(1),
        grid: z.number().int().positive(),
        overlap: z.number().min(0).lt(1),
        kind: z.enum(['dct', 'cells', 'pixels']).optional(),
        querySide: z.number().int().min(32).max(1024).optional(),
        bits: z.number().int().positive().multipleOf(8).optional(),
      }),
    )
    .min(1),
});

/** See QueryPlan; null offset = level not searched by that query view. */
export const QueryPlanSchema = z.object({
  views: z
    .array(
      z.object({
        name: z.string().min(1),
        orientation: z.enum(['none', 'flip', 'rot90', 'rot270']),
        side: z.number().int().min(32).max(1024),
        kind: z.enum(['dct']).optional(),
        trim: z.boolean().optional(),
        tilt: z.number().min(-45).max(45).optional(),
        offsets: z.array(z.number().min(0).nullable()),
        maxDistance: z.number().min(0).max(1).optional(),
        cells: z.boolean().optional(),
        regions: z
          .object({
            proposals: z.number().int().min(1).max(64),
            offset: z.number().min(0),
          })
          .optional(),
      }),
    )
    .min(1),
  verify: z
    .object({
      candidates: z.number().int().min(1).max(1000),
      weight: z.number().min(0),
      keepWholeWithin: z.number().min(0).max(1),
      pixelWeight: z.number().min(0).optional(),
    })
    .optional(),
  match: z.object({ minScore: z.number().min(0).max(1) }).optional(),
});

export const ModelArtifactHeaderSchema = z
  .object({
    format: z.literal('loupe-hash-model'),
    version: z.literal(ARTIFACT_VERSION),
    /** Model version string stored with every code (e.g. "itq64-2026-05-01"). */
    id: z.string().min(1).max(200),
    backbone: z.string().min(1),
    bits: z.number().int().positive().multipleOf(8),
    plan: ViewPlanSchema,
    descriptor: DescriptorConfigSchema,
    dims: z.object({ descriptor: z.number().int().positive(), bits: z.number().int().positive() }),
    head: HeadSpecSchema,
    tensors: z.array(z.object({ name: z.string().min(1), shape: z.array(z.number().int().positive()) })),
    /** How query images are encoded and matched (optional: a default follows from `descriptor`). */
    query: QueryPlanSchema.optional(),
    createdAt: z.string().optional(),
    /** Free-form training provenance (data set, objective, metrics). */
    meta: z.record(z.unknown()).optional(),
  })
  .superRefine((h, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, message });
    if (h.head.bits !== h.bits || h.dims.bits !== h.bits) issue('bits, dims.bits and head.bits differ');
    if (h.head.inDim !== h.dims.descriptor) issue('head.inDim differs from dims.descriptor');
    if (h.descriptor.mode === 'rmac' && h.descriptor.levelSides.length !== h.plan.levels.length) {
      issue('descriptor.levelSides needs one side per plan level');
    }
    if (h.plan.levels[0].kind === 'dct') issue('plan level 0 must be the CNN global level');
    if (h.plan.levels.some((l) => l.kind === 'dct' && l.grid !== 1)) issue('a dct level has one whole-image view (grid 1)');
    const cellLevels = h.plan.levels.filter((l) => l.kind === 'cells');
    if (cellLevels.length > 1) issue('a plan has at most one cell level');
    if (cellLevels.some((l) => l.overlap !== 0)) issue('a cell level tiles its map (overlap 0)');
    if (cellLevels.length && h.descriptor.mode !== 'rmac') issue('a cell level needs rmac descriptors (cells of a feature map)');
    const ownBits = (l: (typeof h.plan.levels)[number]) => l.kind === 'pixels' || (l.kind === 'cells' && l.bits! <= h.bits);
    if (h.plan.levels.some((l) => l.bits !== undefined && !ownBits(l))) issue('only a cell level keeps fewer bits (at most the head\'s)');
    const pixelLevels = h.plan.levels.filter((l) => l.kind === 'pixels');
    if (pixelLevels.length > 1) issue('a plan has at most one pixel level');
    if (pixelLevels.some((l) => l.grid !== 1 || !l.bits || !Number.isInteger(Math.sqrt(l.bits / 8)))) issue('a pixel level is one square thumbnail (grid 1, bits = side^2 x 8)');
    const identity = h.query?.views[0];
    if (identity && (identity.orientation !== 'none' || identity.offsets[0] !== 0)) {
      issue('query.views[0] must be the identity view (orientation none, offset 0 on level 0)');
    }
  });
export type ModelArtifactHeader = z.infer<typeof ModelArtifactHeaderSchema>;

export interface ModelArtifact {
  header: ModelArtifactHeader;
  tensors: Map<string, Float32Array>;
}

/** The fields a trainer chooses; format, version, dims and tensor list are derived. */
export interface ArtifactParts {
  id: string;
  backbone: string;
  plan: ViewPlan;
  descriptor: DescriptorConfig;
  descriptorDim: number;
  head: { spec: HeadSpec; tensors: NamedTensor[] };
  queryPlan?: QueryPlan;
  createdAt?: string;
  meta?: Record<string, unknown>;
}

export function buildArtifact(p: ArtifactParts): ModelArtifact {
  for (const t of p.head.tensors) {
    if (t.shape.reduce((a, b) => a * b, 1) !== t.data.length) throw new Error(`tensor ${t.name}: shape [${t.shape}] does not match ${t.data.length} values`);
  }
  const header = ModelArtifactHeaderSchema.parse({
    format: 'loupe-hash-model',
    version: ARTIFACT_VERSION,
    id: p.id,
    backbone: p.backbone,
    bits: p.head.spec.bits,
    plan: p.plan,
    descriptor: p.descriptor,
    dims: { descriptor: p.descriptorDim, bits: p.head.spec.bits },
    head: p.head.spec,
    tensors: p.head.tensors.map((t) => ({ name: t.name, shape: t.shape })),
    query: p.queryPlan,
    createdAt: p.createdAt,
    meta: p.meta,
  });
  return { header, tensors: new Map(p.head.tensors.map((t) => [t.name, t.data])) };
}

export function encodeArtifact(a: ModelArtifact): Buffer {
  let json = Buffer.from(JSON.stringify(a.header), 'utf8');
  const pad = (4 - ((12 + json.length) % 4)) % 4;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const floats = a.header.tensors.reduce((n, t) => n + size(t.shape), 0);
  const out = Buffer.alloc(12 + json.length + floats * 4);
  out.write(ARTIFACT_MAGIC, 0, 'ascii');
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  let o = 12 + json.length;
  for (const t of a.header.tensors) {
    const data = a.tensors.get(t.name);
    if (!data || data.length !== size(t.shape)) throw new Error(`tensor ${t.name} missing or of the wrong size`);
    if (LITTLE_ENDIAN) Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, o);
    else for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], o + i * 4);
    o += data.length * 4;
  }
  return out;
}

export function decodeArtifact(bytes: Uint8Array): ModelArtifact {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString('ascii', 0, 8) !== ARTIFACT_MAGIC) throw new Error('not a Loupe hash-model artifact (bad magic)');
  const len = buf.readUInt32LE(8);
  if (12 + len > buf.length) throw new Error('model artifact truncated (header)');
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8', 12, 12 + len));
  } catch (e) {
    throw new Error(`model artifact header is not JSON: ${(e as Error).message}`);
  }
  const parsed = ModelArtifactHeaderSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`invalid model artifact header: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const header = parsed.data;
  const tensors = new Map<string, Float32Array>();
  let o = 12 + len;
  for (const t of header.tensors) {
    const n = size(t.shape);
    if (o + n * 4 > buf.length) throw new Error(`model artifact truncated (tensor ${t.name})`);
    const data = new Float32Array(n);
    if (LITTLE_ENDIAN) new Uint8Array(data.buffer).set(buf.subarray(o, o + n * 4));
    else for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(o + i * 4);
    o += n * 4;
    tensors.set(t.name, data);
  }
  if (o !== buf.length) throw new Error(`model artifact has ${buf.length - o} trailing bytes`);
  return { header, tensors };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
