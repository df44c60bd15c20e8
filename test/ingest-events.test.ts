import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createObjectSource, IngestKeys, loadConfig, objectJobId, REPO_ROOT, type LoupeConfig, type ObjectEntry, type ObjectSource,
} from '@loupe/shared';
import { startIngest } from '@loupe/ingest';
import { captureLogger, waitFor } from './support/capture-logger.ts';
import { searchBytes, startPipeline, type RunningPipeline } from './support/pipeline.ts';
import { freePort, startRedis, type TestRedis } from './support/redis-server.ts';
import { startS3, type TestS3 } from './support/s3-server.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';

const BUCKET = 'photos';
const SAMPLES = path.join(REPO_ROOT, 'samples');
const sample = (f: string) => readFileSync(path.join(SAMPLES, f));
// Polling and re-listing never come round during a test: whatever changes, events did it.
const NEVER = { LOUPE_POLL_MS: '86400000', LOUPE_RELIST_MS: '2592000000' };

let redis: TestRedis;
let s3: TestS3;
let db: Redis;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  s3.createBucket(BUCKET);
  s3.createBucket('elsewhere');
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

/** The S3 event JSON as S3 writes it, for one object; keys URL-encoded with + for spaces. */
function record(eventName: string, key: string, object: { eTag?: string; size?: number; sequencer: string }, bucket = BUCKET) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: new Date().toISOString(),
    eventName,
    userIdentity: { principalId: 'AWS:TEST' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'R', 'x-amz-id-2': 'H' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'loupe',
      bucket: { name: bucket, ownerIdentity: { principalId: 'O' }, arn: `arn:aws:s3:::${bucket}` },
      object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), ...object },
    },
  };
}
const message = (...records: object[]) => JSON.stringify({ Records: records });

async function current(prefix: string): Promise<Map<string, { etag: string; size: number }>> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return new Map((r.Contents ?? []).map((o) => [o.Key!, { etag: o.ETag!.replace(/"/g, ''), size: o.Size! }]));
}

/** A creation event of the object as it is now in the bucket. */
async function created(key: string, sequencer: string, eventName = 'ObjectCreated:Put') {
  const o = (await current(key)).get(key);
  if (!o) throw new Error(`${key} is not in the bucket`);
  return record(eventName, key, { eTag: o.etag, size: o.size, sequencer });
}

const drained = (queueUrl: string, inFlight = 0) =>
  waitFor(async () => {
    const d = await s3.queueDepth(queueUrl);
    return d.waiting === 0 && d.inFlight === inFlight;
  });

describe('ingest driven by S3 event notifications (fauxqs SQS), through the whole pipeline', () => {
  const prefix = 'ev/';
  const source = `s3://${BUCKET}/${prefix}`;
  let queueUrl: string;
  let pipeline: RunningPipeline;
  let queues: TestQueues;
  const seenEtag = (key: string) => db.hget(new IngestKeys().seen(source), key);
  const stats = async () => (await fetch(`${pipeline.base}/v1/stats`)).json();
  const byKey = (key: string) =>
    fetch(`${pipeline.base}/v1/search?k=3`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
  const settled = (indexed: number) => waitFor(async () => {
    const s = await stats();
    return s.indexed === indexed && s.pending === 0 && s;
  }, 120_000, 200);

  beforeAll(async () => {
    const queue = s3.createQueue('loupe-events');
    queueUrl = queue.queueUrl;
    pipeline = await startPipeline({ ...s3.env, ...NEVER, REDIS_URL: redis.url, LOUPE_SOURCE: source, LOUPE_EVENTS: queue.events, LOUPE_SHARDS: '2' });
    queues = openQueues(pipeline.config);
    // The start-up backfill (of an empty prefix) is done before anything is put in the bucket.
    await waitFor(() => db.get(new IngestKeys().listedAt(source)));
  });

  afterAll(async () => {
    await queues?.close();
    await pipeline?.close();
  });

  it('indexes what creation events announce, and only that', async () => {
    await s3.put(BUCKET, 'ev/cat on a mat.jpg', sample('chelsea-cat.jpg'));
    await s3.put(BUCKET, 'ev/coffee.jpg', sample('coffee.jpg'));
    await s3.put(BUCKET, 'ev/rocket.jpg', sample('rocket.jpg'));
    await s3.put(BUCKET, 'ev/README.md', '# not an image\n');
    await s3.put(BUCKET, 'elsewhere-key.jpg', sample('coins.jpg'));
    // In the bucket, but no event says so: only a listing would find it.
    await s3.put(BUCKET, 'ev/unannounced.jpg', sample('astronaut.jpg'));

    await s3.send(queueUrl, JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: BUCKET }));
    await s3.send(queueUrl, message(await created('ev/cat on a mat.jpg', '0065F1A2B3C4D5E601'), await created('ev/coffee.jpg', '0065F1A2B3C4D5E602')));
    // Through SNS (no raw delivery): the S3 JSON arrives as the envelope's Message string.
    await s3.send(queueUrl, JSON.stringify({
      Type: 'Notification', MessageId: 'm-1', TopicArn: 'arn:aws:sns:us-east-1:000000000000:uploads',
      Message: message(await created('ev/rocket.jpg', '0065F1A2B3C4D5E603', 'ObjectCreated:CompleteMultipartUpload')),
    }));
    await s3.send(queueUrl, message(
      await created('ev/README.md', '0065F1A2B3C4D5E604'),
      await created('elsewhere-key.jpg', '0065F1A2B3C4D5E605'),
      record('ObjectCreated:Put', 'ev/other-bucket.jpg', { eTag: 'x', size: 1, sequencer: '01' }, 'elsewhere'),
      record('ObjectTagging:Put', 'ev/coffee.jpg', { sequencer: '0065F1A2B3C4D5E6FF' }),
    ));

    await settled(3);
    await drained(queueUrl);
    const cat = await byKey('ev/cat on a mat.jpg');
    expect(cat.status).toBe(200);
    expect((await cat.json()).hits[0]).toMatchObject({ key: 'ev/cat on a mat.jpg', distance: 0 });
    expect((await byKey('ev/unannounced.jpg')).status).toBe(404);
    expect((await byKey('ev/README.md')).status).toBe(404);
    // Indexed from events alone: the only listing was the start-up backfill of the empty prefix.
    expect(await db.get(new IngestKeys().pass(source))).toBe('1');
  });

  it('removes an object on its removal event', async () => {
    await s3.remove(BUCKET, 'ev/coffee.jpg');
    await s3.send(queueUrl, message(record('ObjectRemoved:Delete', 'ev/coffee.jpg', { sequencer: '0065F1A2B3C4D5E610' })));
    await settled(2);
    await waitFor(async () => (await byKey('ev/coffee.jpg')).status === 404);
    expect(await seenEtag('ev/coffee.jpg')).toBeNull();
  });

  it('a duplicated event changes nothing, not even a late duplicate of a creation since removed', async () => {
    const coffee = objectJobId('ingest', 'ev/coffee.jpg', md5(sample('coffee.jpg')));
    const before = await queues.ingest.getJobCounts('completed', 'waiting', 'active', 'delayed');
    expect(await queues.ingest.getJob(coffee)).toBeFalsy(); // withdrawn when the object was removed
    // Delivered again: the rocket's creation, and the coffee's creation after its removal.
    await s3.send(queueUrl, JSON.stringify({
      Type: 'Notification', Message: message(await created('ev/rocket.jpg', '0065F1A2B3C4D5E603', 'ObjectCreated:CompleteMultipartUpload')),
    }));
    await s3.send(queueUrl, message(record('ObjectCreated:Put', 'ev/coffee.jpg', { eTag: md5(sample('coffee.jpg')), size: sample('coffee.jpg').length, sequencer: '0065F1A2B3C4D5E602' })));
    await drained(queueUrl);
    // Applied, the late creation would have queued the coffee again (its job was withdrawn) and
    // marked it seen; dropped, nothing moved.
    expect(await queues.ingest.getJob(coffee)).toBeFalsy();
    expect(await seenEtag('ev/coffee.jpg')).toBeNull();
    expect(await queues.ingest.getJobCounts('completed', 'waiting', 'active', 'delayed')).toEqual(before);
    expect(await stats()).toMatchObject({ indexed: 2, pending: 0 });
  });

  it('an older event arriving after a newer one changes nothing', async () => {
    const key = 'ev/rocket.jpg';
    const oldEtag = (await current(key)).get(key)!.etag;
    await s3.put(BUCKET, key, sample('orange.jpg'));
    const newEtag = (await current(key)).get(key)!.etag;
    expect(newEtag).not.toBe(oldEtag);
    // The newer event first; its sequencer is longer but, right-padded, still the later one.
    await s3.send(queueUrl, message(await created(key, '0065F1A2B3C4D5E62000')));
    await waitFor(async () => (await queues.ingest.getJob(objectJobId('ingest', key, newEtag)))?.finishedOn);
    await settled(2);
    // Then the older one, as SQS may deliver it.
    await s3.send(queueUrl, message(record('ObjectCreated:Put', key, { eTag: oldEtag, size: sample('rocket.jpg').length, sequencer: '0065F1A2B3C4D5E611' })));
    await drained(queueUrl);
    expect(await seenEtag(key)).toBe(newEtag);
    expect(await queues.ingest.getJob(objectJobId('ingest', key, oldEtag))).toBeFalsy();
    // The index holds the newer bytes under the key.
    const r = await searchBytes(pipeline.base, sample('orange.jpg'));
    expect(r.hits[0]).toMatchObject({ key, distance: 0 });
    // A removal older than the creation it follows is dropped too.
    await s3.send(queueUrl, message(record('ObjectRemoved:Delete', key, { sequencer: '0065F1A2B3C4D5E612' })));
    await drained(queueUrl);
    expect(await seenEtag(key)).toBe(newEtag);
    expect(await stats()).toMatchObject({ indexed: 2, pending: 0 });
  });
});

/** The ETag S3 gives a single-part upload: the MD5 of the bytes. */
function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

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
