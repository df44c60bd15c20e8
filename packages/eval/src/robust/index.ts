export { runRobustCli, ROBUST_USAGE } from './robust-cli.ts';
export { loadRobustImageSet, type RobustImageSet, type RobustRole } from './robust-image-set.ts';
export { buildRobustSet, DEFAULT_SIZES, ROBUST_SET_VERSION, type RobustQuery, type RobustSplit, type RobustBenchmarkSet } from './robust-query-set.ts';
export { microAveragePrecision, operatingPoint, thresholdForPrecision, type RankedAnswer, type OperatingPoint } from './precision-recall.ts';
