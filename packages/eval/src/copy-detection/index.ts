export { runCopyDetection, type CopyDetectionInput, type CopyDetectionResult } from './copy-detection-benchmark.ts';
export { runCopyDetectionCli, COPY_DETECTION_USAGE } from './copy-detection-cli.ts';
export { buildQuerySet, QUERY_SET_VERSION, type CopyQuery } from './query-set.ts';
export { loadPhotoSet, datasetsDir, type Photo, type PhotoSet } from './photo-set.ts';
export { perceptualHash, perceptualHashOfGray } from './perceptual-hash.ts';
export { RecallTally } from './recall-tally.ts';
