/**
 * What the shard searchers' worker threads need of the shared package — Redis keys and
 * connections, the index layout, the view plan, the popcount kernel — without the model, image and
 * queue code the package's index also loads (about 50 MB of modules per thread).
 */
export * from './redis/redis-keys.ts';
export * from './redis/redis-connection.ts';
export * from './redis/index-layout.ts';
export * from './code/bit-code.ts';
export * from './view/view-plan.ts';
export * from './log/logger.ts';
export * from './search/hamming-scanner.ts';
export * from './search/kernel/kernel-layout.ts';
export * from './search/mih/multi-index-hash.ts';
export * from './search/skip-bitmap.ts';
export * from './redis/redis-health.ts';
export * from './search/reference-scan.ts';
