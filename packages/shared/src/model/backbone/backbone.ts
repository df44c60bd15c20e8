/**
 * A CNN that turns images into a spatial feature map, on some inference runtime. Input
 * [N, S, S, 3] float RGB in [0, 1], row-major (NHWC); output [N, F, F, dim] (NHWC).
 */
export interface Backbone {
  /** Stable identifier recorded in model artifacts (codes depend on it). */
  readonly id: string;
  /** Channels of the feature map = length of the pooled descriptor. */
  readonly dim: number;
  /** Input side the network was trained at (its global pool is the whole 224 map's mean). */
  readonly nativeSide: number;
  /**
   * Input pixels worth one forward call at most (undefined: the caller's activation budget). ONNX
   * Runtime on a CPU runs a batch no faster per image, and large inputs slower, than one at a time.
   */
  readonly maxBatchPixels?: number;
  /** Cells of the feature map for an input of `side` pixels. */
  featureMapSide(side: number): number;
  /** Feature maps of `n` images of `side` x `side` pixels (`input` holds n * side * side * 3 floats). */
  featureMaps(input: Float32Array, n: number, side: number): Promise<Float32Array>;
  dispose(): void;
}
