import { createHash } from 'node:crypto';
import { buildArtifact, planForBits, type DescriptorConfig, type HashHead, type ModelArtifact, type ViewPlan } from '@loupe/shared';
import type { TrainedHead } from '../trainers/trained-head.ts';

/** What a trained head is put on top of: the descriptor pipeline of an existing model. */
export interface DescriptorPipeline {
  backbone: string;
  plan: ViewPlan;
  descriptor: DescriptorConfig;
  descriptorDim: number;
}

/**
 * `<name>-<bits>b-<10 hex of sha256(head spec, tensors, pipeline)>`: the model version stored with
 * every code. Same weights on the same pipeline give the same id; any change gives a new one.
 */
export function modelVersionId(name: string, head: HashHead, pipeline: DescriptorPipeline): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`model name "${name}" may only use letters, digits, '.', '_' and '-'`);
  const { spec, tensors } = head.toSpec();
  const h = createHash('sha256');
  h.update(JSON.stringify({ spec, pipeline }));
  for (const t of tensors) {
    h.update(`${t.name}:${t.shape.join('x')};`);
    h.update(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return `${name}-${head.bits}b-${h.digest('hex').slice(0, 10)}`;
}

/** The artifact `loupe train` writes: the trained head on `pipeline`, with training provenance. */
export function trainedArtifact(trained: TrainedHead, pipeline: DescriptorPipeline, opts: { name?: string; meta?: Record<string, unknown> } = {}): ModelArtifact {
  if (trained.head.inDim !== pipeline.descriptorDim) {
    throw new Error(`head takes ${trained.head.inDim}-d descriptors, the pipeline gives ${pipeline.descriptorDim}`);
  }
  // A 64-bit cell level under a 32-bit head keeps 32.
  const onPipeline = { ...pipeline, plan: planForBits(pipeline.plan, trained.head.bits) };
  const id = modelVersionId(opts.name ?? trained.method, trained.head, onPipeline);
  const h = trained.history;
  return buildArtifact({
    id,
    backbone: pipeline.backbone,
    plan: onPipeline.plan,
    descriptor: pipeline.descriptor,
    descriptorDim: pipeline.descriptorDim,
    head: trained.head.toSpec(),
    createdAt: new Date().toISOString(),
    meta: { ...trained.meta, lossFirst: h[0], lossLast: h[h.length - 1], ...opts.meta },
  });
}
