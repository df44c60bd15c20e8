import { Worker, type WorkerOptions } from 'node:worker_threads';

const ENTRY = new URL('./ts-worker-entry.mjs', import.meta.url);

/**
 * A worker thread running a TypeScript module. A worker does not get the parent's TypeScript loader
 * under vitest (and the parent may not run under tsx at all), so every worker starts at one small
 * JS entry that registers tsx, then loads `module`.
 */
export function startTsWorker(module: URL, options: WorkerOptions): Worker {
  return new Worker(ENTRY, { ...options, argv: [module.href] });
}
