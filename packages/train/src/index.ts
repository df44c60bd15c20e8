/**
 * Training of hash heads on frozen backbone descriptors: LSH (baseline), PCA + ITQ (unsupervised),
 * a contrastive head on augmented copies (unsupervised, for copy detection) and CSQ hash centres
 * (supervised). Heads are dense, so they train on any TF.js backend (wasm
 * has no conv gradients, which is why the backbone stays frozen).
 */
export { COPY_TRANSFORMS, TRAINING_TRANSFORMS, decodeSource, type CopyTransform, type SourceRaster, type TransformedCopy } from './augment/copy-transforms.ts';
export {
  ROBUST_EDIT_FAMILIES,
  applyRandomEdits,
  editRank,
  type EditContext,
  type EditStep,
  type EditedCopy,
  type RobustEditFamily,
  type RobustEditOptions,
} from './augment/robust-edits.ts';
export { featureMatrix, selectRows, columnMean, columnStd, type FeatureMatrix } from './data/feature-matrix.ts';
export { Labeler } from './data/labeler.ts';
export { CopyPairSetService, iou, type CopyPairSet, type CopyPairOptions } from './data/copy-pair-set.service.ts';
export { sampleKeys, type KeySampling } from './data/sample-keys.ts';
export { TrainingSetService, type ImageSource, type CollectOptions, type TrainingSet } from './data/training-set.service.ts';
export { symmetricEigen, type SymmetricEigen } from './linalg/jacobi-eigen.ts';
export { squareSvd, type SquareSvd } from './linalg/jacobi-svd.ts';
export { topEigen, orthonormalizeRows, type TopEigen, type SubspaceIterationOptions } from './linalg/subspace-iteration.ts';
export type { TrainedHead, TrainMethod } from './trainers/trained-head.ts';
export { LshTrainer, type LshOptions } from './trainers/lsh-trainer.ts';
export { ItqTrainer, type ItqOptions } from './trainers/itq-trainer.ts';
export { CsqTrainer, type CsqOptions } from './trainers/csq-trainer.ts';
export { PairTrainer, type PairOptions, type PairTrainingSet } from './trainers/pair-trainer.ts';
export { hashCenters, type HashCenters } from './trainers/hash-centers.ts';
export { trainHead, TRAIN_METHODS, TRAIN_BITS, type TrainHeadOptions, type DescriptorTrainMethod } from './trainers/train-head.ts';
export { projectRows, covariance, columnMedians } from './trainers/tf-projection.ts';
export { encodeRows, hashRows, type CodeMatrix } from './stats/head-codes.ts';
export { bitBalance, type BitBalance } from './stats/bit-balance.ts';
export { modelVersionId, trainedArtifact, type DescriptorPipeline } from './artifact/trained-artifact.ts';
export { publishArtifact } from './artifact/artifact-publisher.ts';
