import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createObjectSource, IngestKeys, loadConfig, objectJobId, REPO_ROOT, type LoupeConfig, type ObjectEntry, type ObjectSource,
} from '@loupe/shared';
import { startIngest } from '@loupe/ingest';
import { captureLogger, waitFor } from './support/capture-logger.ts';
import { freePort, startRedis, type TestRedis } from './support/redis-server.ts';
import { createdEvent, currentObjects, queueDrained, s3EventMessage } from './support/s3-events.ts';
import { startS3, type TestS3 } from './support/s3-server.ts';
import { openQueues } from './support/test-queues.ts';

const BUCKET = 'photos';
const SAMPLES = path.join(REPO_ROOT, 'samples');
const sample = (f: string) => readFileSync(path.join(SAMPLES, f));
// Polling and re-listing never come round unless a test asks: whatever changes, events did it.
const NEVER = { LOUPE_POLL_MS: '86400000', LOUPE_RELIST_MS: '2592000000' };

let redis: TestRedis;
let s3: TestS3;
let db: Redis;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  s3.createBucket(BUCKET);
  db = new Redis(redis.url);
  // Credentials reach the service the way they do in production: the SDK reads the environment.
  for (const [k, v] of Object.entries(s3.env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
});

afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  db?.disconnect();
  await Promise.all([redis?.stop(), s3?.stop()]);
});

const message = s3EventMessage;
const current = (prefix: string) => currentObjects(s3, BUCKET, prefix);
const created = (key: string, sequencer: string) => createdEvent(s3, BUCKET, key, sequencer);
const drained = (queueUrl: string, inFlight = 0) => queueDrained(s3, queueUrl, inFlight);

describe('the event queue consumer', () => {
  // Each test has its own prefix (its own seen hash) and its own BullMQ queues.
  const configFor = (prefix: string, events: string, extra: Record<string, string> = {}): LoupeConfig =>
    loadConfig({
      ...s3.env, ...NEVER, LOUPE_SOURCE: `s3://${BUCKET}/${prefix}`, REDIS_URL: redis.url, LOUPE_EVENTS: events,
      LOUPE_QUEUE_PREFIX: prefix.replace(/\W/g, ''), LOUPE_LOG_LEVEL: 'silent', ...extra,
    });

  it('leaves a message that is not an S3 event in the queue, and applies the others', async () => {
    const { queueUrl, events } = s3.createQueue('cons-mixed');
    const config = configFor('cons/', events);
    const queues = openQueues(config);
    const logs = captureLogger();
    // Short long-polls: the summary line comes when a receive finds the queue empty.
    const ingest = await startIngest(config, { discovery: 'manual', logger: logs.logger, events: { waitSeconds: 1 } });
    try {
      await s3.put(BUCKET, 'cons/a.jpg', sample('baboon.jpg'));
      await s3.send(queueUrl, 'this is not JSON');
      await s3.send(queueUrl, message(await created('cons/a.jpg', '0A')));
      const etag = (await current('cons/a.jpg')).get('cons/a.jpg')!.etag;
      await waitFor(() => queues.ingest.getJob(objectJobId('ingest', 'cons/a.jpg', etag)));
      // The bad one is received and not deleted: SQS gives it out again (or to a dead-letter queue).
      await drained(queueUrl, 1);
      expect(logs.events('event-rejected')).toEqual([expect.objectContaining({ reason: 'not JSON', body: 'this is not JSON', receiveCount: 1 })]);
      await waitFor(() => logs.events('events').length > 0);
      expect(logs.events('events')[0]).toMatchObject({ received: 2, applied: 1, rejected: 1, failed: 0 });
    } finally {
      await ingest.close();
      await queues.close();
    }
  });

  it('lists at start only when no complete listing is LOUPE_RELIST_MS old, also after a restart', async () => {
    const prefix = 'relist/';
    const { events } = s3.createQueue('relist');
    const passes = async () => Number((await db.get(new IngestKeys().pass(`s3://${BUCKET}/${prefix}`))) ?? 0);
    let ingest = await startIngest(configFor(prefix, events), { logger: captureLogger().logger });
    await waitFor(async () => (await passes()) === 1);
    await ingest.close();
    // Restarted: the listing just made is fresh, so none runs.
    ingest = await startIngest(configFor(prefix, events), { logger: captureLogger().logger });
    await new Promise((r) => setTimeout(r, 1000));
    await ingest.close();
    expect(await passes()).toBe(1);
    // A short LOUPE_RELIST_MS: the safety net comes round again and again.
    ingest = await startIngest(configFor(prefix, events, { LOUPE_RELIST_MS: '200' }), { logger: captureLogger().logger });
    try {
      await waitFor(async () => (await passes()) >= 4, 10_000);
    } finally {
      await ingest.close();
    }
  });

  it('a re-list older than the events applied since undoes nothing', async () => {
    const prefix = 'race/';
    const { queueUrl, events } = s3.createQueue('race');
    const config = configFor(prefix, events);
    await s3.put(BUCKET, 'race/b.jpg', sample('coins.jpg'));
    // The listing a long pass would have made before the changes below reached it.
    const snapshot = [...(await current(prefix))].map(([key, o]) => ({ key, ...o }));
    await s3.put(BUCKET, 'race/b.jpg', sample('fruits.jpg'));
    await s3.put(BUCKET, 'race/c.jpg', sample('home.jpg'));
    const stale = staleListing(config, snapshot);
    const queues = openQueues(config);
    const ingest = await startIngest(config, { discovery: 'manual', logger: captureLogger().logger, source: { source: stale, prefix } });
    try {
      // First make the seen hash hold what the snapshot says, then let events move it on.
      const first = await ingest.discoverOnce();
      expect(first).toMatchObject({ ran: true, new: snapshot.length, deleted: 0 });
      await s3.send(queueUrl, message(await created('race/b.jpg', '10'), await created('race/c.jpg', '11')));
      await drained(queueUrl);
      const now = await current(prefix);
      const seen = () => db.hgetall(new IngestKeys().seen(stale.url));
      await waitFor(async () => (await seen())['race/c.jpg'] === now.get('race/c.jpg')!.etag);
      // The stale listing says b is the old version and c does not exist: both are checked first.
      const report = await ingest.discoverOnce();
      expect(report).toMatchObject({ ran: true, changed: 0, deleted: 0 });
      expect((await seen())['race/b.jpg']).toBe(now.get('race/b.jpg')!.etag);
      expect((await seen())['race/c.jpg']).toBe(now.get('race/c.jpg')!.etag);
      expect(await queues.ingest.getJob(objectJobId('ingest', 'race/b.jpg', now.get('race/b.jpg')!.etag))).toBeTruthy();
      expect(await queues.ingest.getJob(objectJobId('ingest', 'race/c.jpg', now.get('race/c.jpg')!.etag))).toBeTruthy();
    } finally {
      await ingest.close();
      await queues.close();
    }
  });

  it('backs off while the queue cannot be reached, and stops at once', async () => {
    const logs = captureLogger();
    const config = configFor('down/', `sqs://127.0.0.1:${await freePort()}/000000000000/nowhere`);
    const ingest = await startIngest(config, { discovery: 'manual', logger: logs.logger });
    await waitFor(() => logs.events('events-error').length >= 3, 20_000);
    const errors = logs.events('events-error');
    expect(errors.slice(0, 3).map((e) => e.retryInMs)).toEqual([500, 1000, 2000]);
    const t = Date.now();
    await ingest.close();
    expect(Date.now() - t).toBeLessThan(2000);
  });

  it('stops in the middle of a long poll at once', async () => {
    const { events } = s3.createQueue('idle');
    const ingest = await startIngest(configFor('idle/', events), { discovery: 'manual', logger: captureLogger().logger });
    await new Promise((r) => setTimeout(r, 1000)); // the consumer is now waiting on a 20 s receive
    const t = Date.now();
    await ingest.close();
    expect(Date.now() - t).toBeLessThan(2000);
  });

  it('loupe ingest stops start-up (exit 2, naming LOUPE_EVENTS) when the queue is not there', async () => {
    const missing = s3.createQueue('exists').events.replace('exists', 'missing');
    // Asynchronously: the emulator answering the CLI runs in this process.
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(REPO_ROOT, 'bin/loupe.mjs'), 'ingest'], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...s3.env, LOUPE_SOURCE: `s3://${BUCKET}/cli/`, LOUPE_EVENTS: missing, REDIS_URL: redis.url },
        timeout: 60_000,
      }, (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }));
    });
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/LOUPE_EVENTS: cannot read the queue http:\/\/sqs\.us-east-1\.localhost:\d+\/000000000000\/missing: .*does not exist/)]);
  });
});

/** The S3 source, except that its listing is an earlier snapshot (as a long pass would see it). */
function staleListing(config: LoupeConfig, snapshot: ObjectEntry[]): ObjectSource {
  const { source: real } = createObjectSource(config);
  return {
    url: real.url,
    async *list() {
      yield* snapshot;
    },
    get: (key, opts) => real.get(key, opts),
    stat: (key) => real.stat(key),
    close: () => real.close(),
  };
}
