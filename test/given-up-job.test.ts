import { spawn } from 'node:child_process';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue, createWorker, givenUpReason, loadConfig, QueueNames, REPO_ROOT } from '@loupe/shared';
import { waitFor } from './support/capture-logger.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis?.stop());

/**
 * The stages dead-letter a job BullMQ gives up on because its workers kept dying while holding it
 * (givenUpReason). That depends on how BullMQ reports it: this runs the real thing.
 */
describe('a job whose worker died holding it', () => {
  it('is given up once the stall limit is passed, with a reason the stages recognise', async () => {
    const config = loadConfig({ REDIS_URL: redis.url });
    const queue = createQueue(QueueNames.encode, config);
    // (BullMQ runs the stalled-job check once per stalledInterval for the whole queue: both use a short one.)
    // A worker in its own process takes the job and is killed with SIGKILL while it holds it.
    const worker = `import { Worker } from 'bullmq';
      new Worker('${QueueNames.encode}', () => new Promise(() => {}), { connection: { port: ${redis.port} }, prefix: 'bull', lockDuration: 500, stalledInterval: 200 });`;
    const dying = spawn(process.execPath, ['--input-type=module', '-e', worker], { cwd: REPO_ROOT, stdio: 'ignore' });
    await queue.add('encode', { key: 'a.jpg', etag: 'e1' }, { jobId: 'stalls' });
    await waitFor(async () => (await queue.getJobState('stalls')) === 'active');
    dying.kill('SIGKILL');

    const reasons: (string | null)[] = [];
    const survivor = createWorker(QueueNames.encode, config, async () => 'done', { maxStalledCount: 0, stalledInterval: 200, lockDuration: 500 });
    survivor.on('failed', (job, err) => reasons.push(job ? givenUpReason(job as Job, err) : null));
    try {
      await waitFor(async () => (await queue.getJobState('stalls')) === 'failed', 15_000);
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(/the worker died holding it/);
    } finally {
      await survivor.close();
      await queue.close();
    }
  });

  it('is not given up while attempts remain, and is after the last one', () => {
    const job = (attemptsMade: number) => ({ attemptsMade, opts: { attempts: 3 } }) as Job;
    const err = new Error('Redis said no');
    expect(givenUpReason(job(1), err)).toBeNull();
    expect(givenUpReason(job(3), err)).toBe('failed after 3 attempts: Redis said no');
    expect(givenUpReason(job(3), err, { lastAttemptHandled: true })).toBeNull();
    const unrecoverable = Object.assign(new Error('not an image'), { name: 'UnrecoverableError' });
    expect(givenUpReason(job(1), unrecoverable)).toBeNull();
  });
});
