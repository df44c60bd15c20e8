import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs';

/**
 * A CNN that turns images into a spatial feature map and a pooled vector. Input [N, S, S, 3],
 * float RGB in [0, 1].
 */
export interface Backbone {
  /** Stable identifier recorded in model artifacts (codes depend on it). */
  readonly id: string;
  /** Channels of the feature map = length of the pooled descriptor. */
  readonly dim: number;
  /** Input side the network was trained at; the pooled output exists only at this side. */
  readonly nativeSide: number;
  /** Cells of the feature map for an input of `side` pixels. */
  featureMapSide(side: number): number;
  /** Runs one batch. Callers dispose the returned tensors. */
  forward(x: Tensor4D, outputs: BackboneOutputs): BackboneResult;
  dispose(): void;
}

export interface BackboneOutputs {
  featureMap?: boolean;
  pooled?: boolean;
}

export interface BackboneResult {
  /** [N, F, F, dim], F = featureMapSide(side). */
  featureMap?: Tensor4D;
  /** [N, dim]. */
  pooled?: Tensor2D;
}
