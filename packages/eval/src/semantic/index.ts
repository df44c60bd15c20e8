export { parseIdx, readIdx, type IdxTensor } from './idx-reader.ts';
export { loadFashionMnist, hasFashionMnist, fashionMnistDir, FASHION_MNIST_CLASSES, type FashionMnist, type GreyImageSet } from './fashion-mnist-dataset.ts';
export { GreyFeatureExtractor, type GreyFeatureOptions } from './grey-feature-extractor.ts';
export { FeatureCache } from './feature-cache.ts';
export { hammingRankingMetrics, elevenPoint, type PackedCodes, type RetrievalMetrics } from './retrieval-metrics.ts';
export { runSemanticBenchmark, type SemanticBenchmarkOptions, type SemanticResult } from './semantic-benchmark.ts';
