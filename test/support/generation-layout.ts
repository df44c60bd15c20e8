import { DEFAULT_VIEW_PLAN, type IndexLayout } from '@loupe/shared';

/** A 2-shard, 64-bit index layout of `model` under `namespace` (an index generation). */
export function generationLayout(model: string, namespace: string): IndexLayout & { namespace: string; modelRef: string } {
  return { shards: 2, bits: 64, plan: DEFAULT_VIEW_PLAN, model, namespace, modelRef: model };
}
