/**
 * Model layer: inference runtimes (ONNX Runtime, TF.js), CNN backbone, per-view descriptors (R-MAC
 * or per-crop), hash heads, versioned artifacts. Runtimes and the backbone load lazily on first
 * loadHashModel/initRuntime, so importing @loupe/shared stays cheap for services that never run
 * the CNN.
 */
export { initTf, type Tf, type TfRuntime, type TfBackendName } from './runtime/tf-runtime.ts';
export type { InferenceRuntime, RuntimeName, AffineMap } from './runtime/inference-runtime.ts';
export { initRuntime, runtimeOrder, runtimeSettings, type RuntimeSettings } from './runtime/select-runtime.ts';
export { OnnxInferenceRuntime } from './runtime/onnx-inference-runtime.ts';
export { TfInferenceRuntime } from './runtime/tf-inference-runtime.ts';
export type { Backbone } from './backbone/backbone.ts';
export { NsfwjsMobileNetBackbone, MOBILENET, MOBILENET_FEATURE_MAP_NODE, MOBILENET_POOLED_NODE } from './backbone/nsfwjs-mobilenet-backbone.ts';
export { nsfwjsVersion } from './backbone/nsfwjs-bundle.ts';
export { CONVERTER_VERSION } from './onnx/mobilenet-onnx-converter.ts';
export { onnxModelPath, convertBackbone, cachedOnnxBackbone, writeOnnxModel } from './onnx/onnx-model-cache.ts';
export { DescriptorConfigSchema, DEFAULT_DESCRIPTOR_CONFIG, DEFAULT_REGION_SIDE, type DescriptorConfig } from './descriptor/descriptor-config.ts';
export { boxToCells, unitBox, poolRegion, l2Normalize, concatNormalized, gridCells, type CellRange, type Pooling } from './descriptor/region-pooling.ts';
export { ViewDescriptorExtractor, ViewPlanMismatchError, type DescribeInput, type WholeViewSpec } from './descriptor/view-descriptor-extractor.ts';
export { orientRaster, type RasterOrientation } from './descriptor/orient-raster.ts';
export { defaultQueryPlan, DEFAULT_MATCH_SCORE } from './query/default-query-plan.ts';
export { HeadSpecSchema, type HashHead, type HeadSpec, type NamedTensor } from './head/hash-head.ts';
export { LinearSignHead } from './head/linear-sign-head.ts';
export { MlpSignHead } from './head/mlp-sign-head.ts';
export { createHead } from './head/create-head.ts';
export { seededGaussian } from './head/seeded-gaussian.ts';
export {
  ARTIFACT_MAGIC,
  ARTIFACT_VERSION,
  ModelArtifactHeaderSchema,
  QueryPlanSchema,
  buildArtifact,
  encodeArtifact,
  decodeArtifact,
  type ModelArtifact,
  type ModelArtifactHeader,
  type ArtifactParts,
} from './artifact/model-artifact.ts';
export { readArtifact, writeArtifact, registerArtifactFetcher, normalizeArtifactUrl, type ArtifactFetcher } from './artifact/artifact-store.ts';
export { S3ArtifactStore, s3ArtifactLocation, type S3Settings } from './artifact/s3-artifact-store.ts';
export { builtinArtifact, isBuiltinModel, DEFAULT_BUILTIN_SEED } from './builtin/builtin-models.ts';
export { isShippedModel, shippedArtifact, untrainedModel, SHIPPED_MODEL_IDS } from './builtin/shipped-models.ts';
export { TRAINING_SOURCE_PACKAGES } from './builtin/training-sources.ts';
export { greyThumbnailBytes } from './perceptual/dct-hash.ts';
export { sourceThumbnail } from './perceptual/source-thumbnail.ts';
export { HashModel, type EncodeInput, type ViewCode } from './hash-model.ts';
export { loadHashModel, hashModelFromArtifact, readModelArtifact, type LoadHashModelOptions } from './load-hash-model.ts';
