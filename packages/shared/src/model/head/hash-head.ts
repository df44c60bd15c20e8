import { z } from 'zod';
import type { InferenceRuntime } from '../runtime/inference-runtime.ts';

/**
 * A hash head maps one float descriptor to `bits` signs (1 = positive). `hash` applies it in plain JS
 * with a fixed summation order; `hashMany`, where a head has it, codes many descriptors in one
 * product on the inference runtime.
 */
export interface HashHead {
  readonly type: HeadSpec['type'];
  readonly inDim: number;
  readonly bits: number;
  /** Packed code (MSB first, see packBits). */
  hash(descriptor: Float32Array): Uint8Array;
  /**
   * Codes of many descriptors in one product on the inference runtime (~1 ms a descriptor in
   * hash(); an image's ~50 views and ~200 cells cost a few ms this way), keeping the first `bits`
   * bits (a shorter cell code). Float32 sums: a bit whose projection is within rounding of 0 may
   * differ from hash(), so a model codes every view one way (HashModel.hashDescriptors).
   */
  hashMany?(runtime: InferenceRuntime, descriptors: Float32Array[], bits?: number): Promise<Uint8Array[]>;
  /** What an artifact stores: the spec and its tensors, in file order. */
  toSpec(): { spec: HeadSpec; tensors: NamedTensor[] };
}

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/**
 * `linear-sign`: bits = sign(W (x - mean) + bias); tensors mean [inDim], weight [bits, inDim],
 * bias [bits]. Covers random projection, PCA + ITQ (W = R^T P^T) and any learned linear head.
 *
 * `mlp-sign`: x - mean through dense layers (weight_i [units, in], bias_i [units]) with the given
 * activations; the last layer has `bits` units and its sign is the code.
 */
export const HeadSpecSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('linear-sign'), inDim: z.number().int().positive(), bits: z.number().int().positive() }),
  z.object({
    type: z.literal('mlp-sign'),
    inDim: z.number().int().positive(),
    bits: z.number().int().positive(),
    layers: z
      .array(z.object({ units: z.number().int().positive(), activation: z.enum(['relu', 'tanh', 'linear']) }))
      .min(1),
  }),
]);
export type HeadSpec = z.infer<typeof HeadSpecSchema>;
