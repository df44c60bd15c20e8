import { createLogger, type LoupeConfig } from '@loupe/shared';
import { startIngest } from '@loupe/ingest';
import { startEncoder } from '@loupe/encoder';
import { startIndexer } from '@loupe/indexer';
import { startQuery, startSearcher } from '@loupe/query';
import { DRAIN_DEADLINE_MS, stopped, unlessStopped, within } from './stop-signals.ts';

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

/**
 * Runs one service until `stop` (SIGTERM/SIGINT), then closes it gracefully: BullMQ's
 * worker.close() lets the jobs in flight finish, so none is left active. Exit code 0, or 1 when
 * closing failed or outlasted DRAIN_DEADLINE_MS (jobs still running then go back to waiting when
 * their BullMQ lock expires). A stop during start-up exits at once: no job is in flight yet.
 */
export async function runService(name: ServiceName, config: LoupeConfig, stop: AbortSignal): Promise<number> {
  const log = createLogger(name, config.LOUPE_LOG_LEVEL);
  // A service's start-up may wait for long (the query service for the first index): a stop ends it.
  const service = await unlessStopped(starters[name](config), stop);
  if (!service) {
    log.info({ signal: stop.reason }, `${name} stopped during start-up`);
    return 0;
  }
  log.info({ pid: process.pid }, `${name} started`);
  await stopped(stop);
  const t0 = Date.now();
  log.info({ signal: stop.reason }, `${name} stopping`);
  try {
    if (await within(service.close(), DRAIN_DEADLINE_MS)) {
      log.info({ ms: Date.now() - t0 }, `${name} stopped`);
      return 0;
    }
    log.error({ deadlineMs: DRAIN_DEADLINE_MS }, `${name} did not drain in time; jobs still running go back to waiting when their lock expires`);
  } catch (err) {
    log.error({ err }, `${name} did not close cleanly`);
  }
  return 1;
}
