import { createLogger, type LoupeConfig } from '@loupe/shared';
import { startIngest } from '@loupe/ingest';
import { startEncoder } from '@loupe/encoder';
import { startIndexer } from '@loupe/indexer';
import { startQuery, startSearcher } from '@loupe/query';

/** The services `loupe start` runs, one child each. */
export const SERVICES = ['ingest', 'encoder', 'indexer', 'query'] as const;
/** Every service `loupe <service>` runs in its process: those, and a searcher (for routers; never started by `loupe start`). */
export const RUNNABLE_SERVICES = [...SERVICES, 'searcher'] as const;
export type ServiceName = (typeof RUNNABLE_SERVICES)[number];

const starters: Record<ServiceName, (c: LoupeConfig) => Promise<{ close(): Promise<void> }>> = {
  ingest: startIngest,
  encoder: startEncoder,
  indexer: startIndexer,
  query: startQuery,
  searcher: startSearcher,
};

/** Runs one service until SIGTERM/SIGINT, then closes it gracefully (BullMQ worker.close()). */
export async function runService(name: ServiceName, config: LoupeConfig): Promise<number> {
  const log = createLogger(name, config.LOUPE_LOG_LEVEL);
  const service = await starters[name](config);
  log.info({ pid: process.pid }, `${name} started`);
  return new Promise((resolve) => {
    let closing = false;
    const stop = (signal: string) => {
      if (closing) return;
      closing = true;
      log.info({ signal }, `${name} stopping`);
      const force = setTimeout(() => resolve(1), 15_000);
      force.unref();
      service.close().then(() => resolve(0), (err) => {
        log.error({ err }, `${name} did not close cleanly`);
        resolve(1);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
