import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createObjectSource, IngestKeys, loadConfig, objectJobId, REPO_ROOT, type LoupeConfig, type ObjectEntry, type ObjectSource,
} from '@loupe/shared';
import { startIngest } from '@loupe/ingest';
import { parseSeenValue, type SeenVersion } from '../services/ingest/src/repositories/seen-object.repository.ts';
import { captureLogger, waitFor } from './support/capture-logger.ts';
import { freePort, startRedis, type TestRedis } from './support/redis-server.ts';
import { createdEvent, currentObjects, queueDrained, s3EventMessage } from './support/s3-events.ts';
import { startS3, type TestS3, useS3Env } from './support/s3-server.ts';
import { openQueues } from './support/test-queues.ts';

const BUCKET = 'photos';
const SAMPLES = path.join(REPO_ROOT, 'samples');
const sample = (f: string) => readFileSync(path.join(SAMPLES, f));
// Polling and re-listing never come round unless a test asks: whatever changes, events did it.
const NEVER = { LOUPE_POLL_MS: '86400000', LOUPE_RELIST_MS: '2592000000' };

let redis: TestRedis;
let s3: TestS3;
let db: Redis;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  s3.createBucket(BUCKET);
  db = new Redis(redis.url);
  // Credentials reach the service the way they do in production: the SDK reads the environment.
  restoreEnv = useS3Env(s3);
});

afterAll(async () => {
  restoreEnv();
  db?.disconnect();
  await Promise.all([redis?.stop(), s3?.stop()]);
});

const message = s3EventMessage;
const current = (prefix: string) => currentObjects(s3, BUCKET, prefix);
const created = (key: string, sequencer: string) => createdEvent(s3, BUCKET, key, sequencer);
const drained = (queueUrl: string, inFlight = 0) => queueDrained(s3, queueUrl, inFlight);
/** The seen hash of a source: key -> the etag and object version its jobs were queued with. */
const seenOf = async (sourceUrl: string): Promise<Record<string, SeenVersion>> =>
  Object.fromEntries(Object.entries(await db.hgetall(new IngestKeys().seen(sourceUrl))).map(([k, v]) => [k, parseSeenValue(k, v)]));

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
      const seen = (await waitFor(async () => (await seenOf(config.LOUPE_SOURCE))['cons/a.jpg'])) as SeenVersion;
      expect(seen.etag).toBe(etag);
      await waitFor(() => queues.ingest.getJob(objectJobId('ingest', 'cons/a.jpg', etag, seen.version)));
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
      const seen = () => seenOf(stale.url);
      await waitFor(async () => (await seen())['race/c.jpg']?.etag === now.get('race/c.jpg')!.etag);
      const byEvents = await seen();
      // Each event got its own version from the clock, after the first pass's.
      expect(byEvents['race/b.jpg'].version).toBeGreaterThan(first.version);
      expect(byEvents['race/c.jpg'].version).toBeGreaterThan(byEvents['race/b.jpg'].version!);
      // The stale listing says b is the old version and c does not exist: both are checked first.
      const report = await ingest.discoverOnce();
      expect(report).toMatchObject({ ran: true, changed: 0, deleted: 0 });
      expect(await seen()).toEqual(byEvents);
      for (const key of ['race/b.jpg', 'race/c.jpg']) {
        expect(byEvents[key].etag).toBe(now.get(key)!.etag);
        expect(await queues.ingest.getJob(objectJobId('ingest', key, byEvents[key].etag, byEvents[key].version))).toBeTruthy();
      }
      // Nothing queued by the second pass: its (newer) version would have put the old b back.
      const second = (await queues.ingest.getJobs(['waiting', 'active', 'completed', 'delayed'])).filter((j) => j.data.version === report.version);
      expect(second).toEqual([]);
    } finally {
      await ingest.close();
      await queues.close();
    }
  });

  it('an event that comes while a pass lists waits for the pass, then gets a newer version', async () => {
    const prefix = 'wait/';
    const { queueUrl, events } = s3.createQueue('wait');
    const config = configFor(prefix, events);
    await s3.put(BUCKET, 'wait/a.jpg', sample('coins.jpg'));
    const listed = [...(await current(prefix))].map(([key, o]) => ({ key, ...o }));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // A pass that has taken the lock and is still listing (what it lists is a's first version).
    const slow: ObjectSource = { ...staleListing(config, listed), async *list() {
      await gate;
      yield* listed;
    } };
    const queues = openQueues(config);
    const ingest = await startIngest(config, { discovery: 'manual', logger: captureLogger().logger, source: { source: slow, prefix }, events: { waitSeconds: 1 } });
    try {
      const passing = ingest.discoverOnce();
      await s3.put(BUCKET, 'wait/a.jpg', sample('fruits.jpg'));
      const newEtag = (await current(prefix)).get('wait/a.jpg')!.etag;
      await s3.send(queueUrl, message(await created('wait/a.jpg', '20')));
      await drained(queueUrl, 1); // in the consumer's hands...
      await new Promise((r) => setTimeout(r, 500));
      expect(await seenOf(slow.url)).toEqual({}); // ...and not applied while the pass holds the lock
      open();
      const pass = await passing;
      expect(pass).toMatchObject({ ran: true, new: 1 });
      await drained(queueUrl);
      // Applied after the pass, over what it listed: the event's version is the newer one.
      const seen = (await seenOf(slow.url))['wait/a.jpg'];
      expect(seen.etag).toBe(newEtag);
      expect(seen.version).toBeGreaterThan(pass.version);
      const job = await queues.ingest.getJob(objectJobId('ingest', 'wait/a.jpg', newEtag, seen.version));
      expect(job?.data).toMatchObject({ op: 'upsert', etag: newEtag, version: seen.version });
    } finally {
      open();
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
