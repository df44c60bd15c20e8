import { createWorker, GroupJobSchema, isRedisConnectionError, parseJob, QueueNames, type Logger, type LoupeConfig } from '@loupe/shared';
import type { DuplicateGroupsService } from './duplicate-groups.service.ts';

/**
 * Jobs in flight: their searches go in batches (SearchBatcher), and their writes take turns in this
 * process and are ordered by the groups' WATCHed epoch across processes.
 */
const GROUPS_CONCURRENCY = 16;

/**
 * The loupe-groups worker, in the query service (it searches the mirrors the service holds); other
 * query services' workers share the queue. Waits until the mirrors are loaded (`ready`) before its
 * first search.
 */
export function startGroupsWorker(config: LoupeConfig, groups: DuplicateGroupsService, ready: () => boolean, log: Logger): { close(): Promise<void> } {
  let closing = false;
  const worker = createWorker(
    QueueNames.groups,
    config,
    async (job) => {
      while (!ready()) {
        if (closing) throw new Error('query service closing');
        await new Promise((r) => setTimeout(r, 200));
      }
      await groups.refresh(parseJob(GroupJobSchema, QueueNames.groups, job.data));
    },
    { concurrency: GROUPS_CONCURRENCY },
  );
  worker.on('failed', (job, err) => log.error({ jobId: job?.id, key: (job?.data as { key?: string })?.key, err: err.message }, 'duplicate groups job failed'));
  worker.on('error', (err) => log[isRedisConnectionError(err) ? 'debug' : 'error']({ err: err.message }, 'groups worker error'));
  return {
    close: () => {
      closing = true;
      return worker.close();
    },
  };
}
