import net from 'node:net';
import { createObjectSource, createRedis, parseEventsUrl, readModelArtifact, searcherToken, type Logger, type LoupeConfig } from '@loupe/shared';
import { SqsEventQueueRepository } from '@loupe/ingest';

/** A setting that cannot work: start-up stops with exit code 2 and the variable named. */
export class SettingError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'SettingError';
  }
}

export type PreflightCheck = 'port' | 'model' | 'source' | 'events' | 'searcher';

/** How long listing the source may take before start-up gives up on it. */
const SOURCE_TIMEOUT_MS = 10_000;

/**
 * Checks, before a service starts (or `loupe start` says it is up), that what the settings name is
 * there: the query port is free, the model loads, the source lists, the event queue (LOUPE_EVENTS)
 * answers. Throws SettingError naming
 * the variable, so a bad setting stops start-up instead of crash-looping a service.
 */
export async function preflight(config: LoupeConfig, checks: PreflightCheck[]): Promise<void> {
  if (checks.includes('port')) await checkPortFree(config.LOUPE_QUERY_PORT, config.LOUPE_QUERY_HOST, 'LOUPE_QUERY');
  if (checks.includes('searcher')) {
    if (!searcherToken(config)) throw new SettingError('LOUPE_SEARCHER_TOKEN', 'a searcher serves only routers that hold a shared secret: set LOUPE_SEARCHER_TOKEN (or LOUPE_TOKEN)');
    await checkPortFree(config.LOUPE_SEARCHER_PORT, config.LOUPE_SEARCHER_HOST, 'LOUPE_SEARCHER');
  }
  if (checks.includes('model')) {
    await readModelArtifact(config.LOUPE_MODEL).catch((e) => {
      throw new SettingError('LOUPE_MODEL', `cannot load model ${JSON.stringify(config.LOUPE_MODEL)}: ${(e as Error).message}`);
    });
  }
  if (checks.includes('source')) await checkSourceLists(config);
  if (checks.includes('events') && config.LOUPE_EVENTS) await checkEventQueue(config, config.LOUPE_EVENTS);
}

/** `prefix`: the settings' common name (LOUPE_QUERY for LOUPE_QUERY_PORT and LOUPE_QUERY_HOST). */
async function checkPortFree(port: number, host: string, prefix: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new SettingError(`${prefix}_PORT`, `port ${port} on ${host} is already in use by another process`));
      else if (e.code === 'EACCES') reject(new SettingError(`${prefix}_PORT`, `no permission to listen on port ${port}`));
      else reject(new SettingError(`${prefix}_HOST`, `cannot listen on ${host}:${port}: ${e.message}`));
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

async function checkSourceLists(config: LoupeConfig): Promise<void> {
  const { source, prefix } = createObjectSource(config);
  const variable = config.LOUPE_SOURCE.startsWith('s3://') && config.S3_ENDPOINT ? 'LOUPE_SOURCE (S3_ENDPOINT)' : 'LOUPE_SOURCE';
  let timer: NodeJS.Timeout | undefined;
  try {
    const first = (async () => {
      for await (const _ of source.list(prefix)) break;
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${SOURCE_TIMEOUT_MS / 1000} s`)), SOURCE_TIMEOUT_MS);
    });
    await Promise.race([first, timeout]);
  } catch (e) {
    throw new SettingError(variable, `cannot list ${config.LOUPE_SOURCE}: ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
    await source.close();
  }
}

async function checkEventQueue(config: LoupeConfig, events: string): Promise<void> {
  const queue = new SqsEventQueueRepository(parseEventsUrl(events)!.queueUrl, config);
  const timeout = AbortSignal.timeout(SOURCE_TIMEOUT_MS);
  try {
    await queue.depth(timeout);
  } catch (e) {
    const why = timeout.aborted ? `no answer within ${SOURCE_TIMEOUT_MS / 1000} s` : (e as Error).message;
    throw new SettingError('LOUPE_EVENTS', `cannot read the queue ${queue.queueUrl}: ${why}`);
  } finally {
    queue.close();
  }
}

/**
 * BullMQ needs Redis to keep every key (maxmemory-policy noeviction): an evicting Redis loses jobs
 * and index pages silently. Warns otherwise; a Redis that refuses CONFIG (managed services) is let be.
 */
export async function warnUnlessNoEviction(config: LoupeConfig, log: Logger): Promise<void> {
  const redis = createRedis(config, { name: 'loupe-preflight' });
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    if (policy && policy !== 'noeviction') {
      log.warn({ policy }, `Redis maxmemory-policy is ${policy}: it may evict queue jobs and index pages; set it to noeviction`);
    }
  } catch {
    /* CONFIG not allowed: nothing to check */
  } finally {
    redis.disconnect();
  }
}
