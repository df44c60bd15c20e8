import { hostname } from 'node:os';
import { UnrecoverableError } from 'bullmq';
import {
  createLogger,
  createQueue,
  createRedis,
  createWorker,
  givenUpReason,
  DeadLetterRepository,
  DEFAULT_MODEL,
  ENCODER_HEARTBEAT_MS,
  forgetEncoder,
  reportEncoder,
  DEFAULT_SHARDS,
  ensureIndexLayout,
  initRuntime,
  isRedisConnectionError,
  loadHashModel,
  modelFitsLayout,
  QueueNames,
  readGenerations,
  readIndexLayout,
  readModelArtifact,
  RedisHealth,
  runtimeSettings,
  type HashModel,
  type Logger,
  type LoupeConfig,
  type RedisClient,
} from '@loupe/shared';
import { EncoderService, identify, type EncodeOutcome } from './services/encoder.service.ts';
import { GenerationModels } from './services/generation-models.ts';

/** How long the first job of a batch waits for others: small next to a ~50-300 ms forward. */
const BATCH_WAIT_MS = 20;

/**
 * Runs the encoder: a BullMQ worker on loupe-encode whose concurrency equals LOUPE_ENCODE_BATCH, so
 * that many jobs are in flight; their images meet in a micro-batcher and go through the CNN
 * together (one forward per scale per batch). Codes go to loupe-index; bad jobs to loupe-dead.
 * Also creates the index layout in Redis (shards, bits, plan, model) if none exists yet. Codes are
 * made with the model of each live index generation (LOUPE_MODEL creates the first one; a rollout
 * adds the next), so a rollout needs no encoder restart. While Redis is unreachable it waits:
 * its commands run once Redis is back, so no job attempt is spent on the outage.
 */
export async function startEncoder(config: LoupeConfig, options: { logger?: Logger } = {}): Promise<{ close(): Promise<void> }> {
  const log = options.logger ?? createLogger('encoder', config.LOUPE_LOG_LEVEL);
  const runtime = await initRuntime(runtimeSettings(config), log);
  const redis = createRedis(config, { name: 'loupe-encoder', waitThroughOutages: true });
  const redisHealth = new RedisHealth(redis, log);
  let model: HashModel;
  let modelRef: string;
  try {
    const { active } = await readGenerations(redis);
    ({ model, modelRef } = await startingModel(redis, active, config.LOUPE_MODEL, log));
    // LOUPE_SHARDS unset: an existing index keeps its count, a new one gets the default.
    const shards = config.LOUPE_SHARDS ?? (await readIndexLayout(redis, active))?.shards ?? DEFAULT_SHARDS;
    const layout = await ensureIndexLayout(redis, { shards, bits: model.bits, plan: model.plan, model: model.id, namespace: active, modelRef });
    if (layout.model !== model.id) log.info({ index: layout.model, model: model.id }, 'the index uses another model: encoding with the index generations\' models');
  } catch (e) {
    redisHealth.close();
    redis.disconnect();
    throw e;
  }
  const indexQueue = createQueue(QueueNames.index, config, redis);
  const deadQueue = createQueue(QueueNames.dead, config, redis);
  const batch = config.LOUPE_ENCODE_BATCH;
  const models = new GenerationModels(redis, (ref) => loadHashModel(ref, { logger: log }), modelRef, log);
  models.preload(modelRef, model);
  const service = new EncoderService(models, indexQueue, deadQueue, new DeadLetterRepository(redis), log, { maxSize: batch, maxWaitMs: BATCH_WAIT_MS });

  const worker = createWorker<unknown, EncodeOutcome>(
    QueueNames.encode,
    config,
    async (job) => {
      const outcome = await service.handle(job.data);
      // Failed, not completed, so the queue's own counts show it; already on loupe-dead, no retry.
      if (outcome.status === 'dead') throw new UnrecoverableError(outcome.reason);
      return outcome;
    },
    { concurrency: batch },
  );
  worker.on('failed', (job, err) => {
    const reason = job && givenUpReason(job, err);
    if (!reason) {
      if (job && err.name !== 'UnrecoverableError') log.warn({ jobId: job.id, attempt: job.attemptsMade, err: err.message }, 'encode job failed, will retry');
      return;
    }
    const { key, etag } = identify(job.data);
    service.deadLetter(key, etag, reason).catch((e) => log.error({ err: String(e) }, 'dead-letter failed'));
  });
  // Redis going away is reported once (RedisHealth), not once per reconnect attempt.
  worker.on('error', (err) => log[isRedisConnectionError(err) ? 'debug' : 'error']({ err: err.message }, 'encode worker error'));
  // Heartbeat: /v1/stats shows which runtime the encoders run on (a wasm fallback is 5x slower).
  const instance = `${hostname()}:${process.pid}`;
  const heartbeat = () => reportEncoder(redis, instance, { runtime: runtime.name, threads: runtime.threads, model: model.id, ...service.totals }).catch((e) => log.warn({ err: String(e) }, 'encoder heartbeat failed'));
  void heartbeat();
  const heartbeatTimer = setInterval(heartbeat, ENCODER_HEARTBEAT_MS);
  heartbeatTimer.unref();
  log.info({ runtime: runtime.name, threads: runtime.threads, model: model.id, bits: model.bits, backbone: model.backbone, descriptor: model.descriptor, batch, batchWaitMs: BATCH_WAIT_MS }, 'encoder started');

  return {
    async close() {
      clearInterval(heartbeatTimer);
      await worker.close(); // lets active jobs (and so their batch) finish
      await service.drain();
      await forgetEncoder(redis, instance).catch(() => undefined);
      await indexQueue.close();
      await deadQueue.close();
      redisHealth.close();
      redis.disconnect();
      log.info('encoder stopped');
    },
  };
}

/**
 * LOUPE_MODEL, or — when it is the default model and an existing index was made with a model of
 * another view plan or code length (an earlier default) — the index's own model, so upgrading Loupe
 * does not stop an encoder that was never given a model. Any other model must fit the index
 * (ensureIndexLayout).
 */
async function startingModel(redis: RedisClient, namespace: string, ref: string, log: Logger): Promise<{ model: HashModel; modelRef: string }> {
  const load = (r: string) => loadHashModel(r, { logger: log });
  if (ref !== DEFAULT_MODEL) return { model: await load(ref), modelRef: ref };
  const stored = await readIndexLayout(redis, namespace);
  // The default's header is enough to compare (no backbone load for a model that is not used).
  if (!stored?.modelRef || modelFitsLayout(stored, (await readModelArtifact(ref)).header)) return { model: await load(ref), modelRef: ref };
  log.warn({ index: stored.modelRef, default: ref }, 'the index has another view plan or code length than the default model: encoding with the index\'s model (set LOUPE_MODEL to it to silence this)');
  return { model: await load(stored.modelRef), modelRef: stored.modelRef };
}
