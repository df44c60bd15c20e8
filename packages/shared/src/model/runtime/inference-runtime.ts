import type { Backbone } from '../backbone/backbone.ts';

/** Where a process runs its CNN forwards and head products (LOUPE_RUNTIME picks, see selectRuntime). */
export type RuntimeName = 'onnx' | 'tfjs-node' | 'wasm';

/**
 * An inference runtime: the backbone's forwards and the linear products of hash heads. Every
 * runtime computes the same functions; float sums in another order can flip a bit whose
 * projection is within rounding of zero, which is why a process uses one runtime throughout.
 */
export interface InferenceRuntime {
  readonly name: RuntimeName;
  /** Intra-op threads per forward (1 unless LOUPE_RUNTIME_THREADS says otherwise; wasm: always 1). */
  readonly threads: number;
  /** The backbone an artifact names, loaded once per runtime. */
  loadBackbone(id: string): Promise<Backbone>;
  /** y = x W^T + offset for rows x of `weight`'s width: a linear head's projections. */
  affine(weight: Float32Array, offset: Float32Array): AffineMap;
}

/** A fixed affine map, x [n, inDim] -> y [n, outDim]. */
export interface AffineMap {
  apply(x: Float32Array, n: number): Promise<Float32Array>;
}

/** The [inDim, outDim] of the affine map of `weight` [outDim, inDim] and `offset` [outDim]. */
export function affineDims(weight: Float32Array, offset: Float32Array): [number, number] {
  const outDim = offset.length;
  const inDim = weight.length / outDim;
  if (!Number.isInteger(inDim)) throw new Error(`affine map: ${weight.length} weights for ${outDim} outputs`);
  return [inDim, outDim];
}
