import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestKeys, objectJobId, readIndexLayout, readShardCounters, REPO_ROOT } from '@loupe/shared';
import type { DiscoveryReport } from '@loupe/ingest';
import { parseSeenValue, type SeenVersion } from '../services/ingest/src/repositories/seen-object.repository.ts';
import { waitFor } from './support/capture-logger.ts';
import { heldObject, holds } from './support/index-probe.ts';
import { startPipeline, type RunningPipeline } from './support/pipeline.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { createdEvent, currentObjects, queueDrained, s3EventMessage, s3EventRecord } from './support/s3-events.ts';
import { startS3, type TestS3, useS3Env } from './support/s3-server.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';

const BUCKET = 'photos';
const SAMPLES = path.join(REPO_ROOT, 'samples');
const sample = (f: string) => readFileSync(path.join(SAMPLES, f));
// Polling and re-listing never come round during a test: whatever changes, events did it.
const NEVER = { LOUPE_POLL_MS: '86400000', LOUPE_RELIST_MS: '2592000000' };

let redis: TestRedis;
let s3: TestS3;
let db: Redis;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  s3.createBucket(BUCKET);
  s3.createBucket('elsewhere');
  db = new Redis(redis.url);
  // Credentials reach the service the way they do in production: the SDK reads the environment.
  restoreEnv = useS3Env(s3);
});

afterAll(async () => {
  restoreEnv();
  db?.disconnect();
  await Promise.all([redis?.stop(), s3?.stop()]);
});

const record = (eventName: string, key: string, object: { eTag?: string; size?: number; sequencer: string }, bucket = BUCKET) =>
  s3EventRecord(eventName, bucket, key, object);
const message = s3EventMessage;
const current = (prefix: string) => currentObjects(s3, BUCKET, prefix);
const created = (key: string, sequencer: string, eventName?: string) => createdEvent(s3, BUCKET, key, sequencer, eventName);
const drained = (queueUrl: string, inFlight = 0) => queueDrained(s3, queueUrl, inFlight);

describe('ingest driven by S3 event notifications (fauxqs SQS), through the whole pipeline', () => {
  const prefix = 'ev/';
  const source = `s3://${BUCKET}/${prefix}`;
  let queueUrl: string;
  let pipeline: RunningPipeline;
  let queues: TestQueues;
  /** What the seen hash holds for key: the etag and object version its jobs were queued with. */
  const seenOf = async (key: string): Promise<SeenVersion | null> => {
    const v = await db.hget(new IngestKeys().seen(source), key);
    return v === null ? null : parseSeenValue(key, v);
  };
  const seenEtag = async (key: string) => (await seenOf(key))?.etag ?? null;
  /** Ingest jobs of key, whatever their state, as their data. */
  const ingestJobsOf = async (key: string) =>
    (await queues.ingest.getJobs(['completed', 'waiting', 'active', 'delayed'])).filter((j) => j.data.key === key).map((j) => j.data);
  const stats = async () => (await fetch(`${pipeline.base}/v1/stats`)).json();
  // A query service that is still loading its mirrors answers 503: ask again until it answers.
  const answered = async (ask: () => Promise<Response>) => {
    const r = (await waitFor(async () => {
      const res = await ask();
      return res.status !== 503 && res;
    }, 60_000, 200)) as Response;
    return { status: r.status, body: await r.json() };
  };
  const byKey = (key: string) => answered(() =>
    fetch(`${pipeline.base}/v1/search?k=3`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) }));
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
    expect(cat.body.hits[0]).toMatchObject({ key: 'ev/cat on a mat.jpg', distance: 0 });
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
    const coffee = md5(sample('coffee.jpg'));
    const coffeeUpserts = async () => (await ingestJobsOf('ev/coffee.jpg')).filter((d) => d.op === 'upsert' && d.etag === coffee);
    const before = await queues.ingest.getJobCounts('completed', 'waiting', 'active', 'delayed');
    expect(await coffeeUpserts()).toEqual([]); // withdrawn when the object was removed
    // Delivered again: the rocket's creation, and the coffee's creation after its removal.
    await s3.send(queueUrl, JSON.stringify({
      Type: 'Notification', Message: message(await created('ev/rocket.jpg', '0065F1A2B3C4D5E603', 'ObjectCreated:CompleteMultipartUpload')),
    }));
    await s3.send(queueUrl, message(record('ObjectCreated:Put', 'ev/coffee.jpg', { eTag: md5(sample('coffee.jpg')), size: sample('coffee.jpg').length, sequencer: '0065F1A2B3C4D5E602' })));
    await drained(queueUrl);
    // Applied, the late creation would have queued the coffee again (its job was withdrawn) and
    // marked it seen; dropped, nothing moved.
    expect(await coffeeUpserts()).toEqual([]);
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
    const applied = (await waitFor(async () => {
      const seen = await seenOf(key);
      return seen?.etag === newEtag && seen;
    })) as SeenVersion;
    await waitFor(async () => (await queues.ingest.getJob(objectJobId('ingest', key, newEtag, applied.version)))?.finishedOn);
    await settled(2);
    // Then the older one, as SQS may deliver it.
    await s3.send(queueUrl, message(record('ObjectCreated:Put', key, { eTag: oldEtag, size: sample('rocket.jpg').length, sequencer: '0065F1A2B3C4D5E611' })));
    await drained(queueUrl);
    expect(await seenOf(key)).toEqual(applied);
    expect((await ingestJobsOf(key)).filter((d) => d.etag === oldEtag && d.version > applied.version!)).toEqual([]);
    // The index holds the newer bytes under the key.
    const r = await answered(() => fetch(`${pipeline.base}/v1/search?k=3`, {
      method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: new Blob([sample('orange.jpg')]),
    }));
    expect(r.body.hits[0]).toMatchObject({ key, distance: 0 });
    // A removal older than the creation it follows is dropped too.
    await s3.send(queueUrl, message(record('ObjectRemoved:Delete', key, { sequencer: '0065F1A2B3C4D5E612' })));
    await drained(queueUrl);
    expect(await seenEtag(key)).toBe(newEtag);
    expect(await stats()).toMatchObject({ indexed: 2, pending: 0 });
  });

  it('an object an event created, then seen by a re-list, is indexed once with the event\'s version', async () => {
    const key = 'ev/relisted.jpg';
    const layout = (await readIndexLayout(db))!;
    const counters = async () => (await readShardCounters(db, layout)).reduce(
      (t, c) => ({ created: t.created + c.created, replaced: t.replaced + c.replaced, stale: t.stale + c.stale }), { created: 0, replaced: 0, stale: 0 });
    const before = await counters();
    await s3.put(BUCKET, key, sample('squirrel.jpg'));
    const clockBefore = Number(await db.get(new IngestKeys().versionClock));
    await s3.send(queueUrl, message(await created(key, '0065F1A2B3C4D5E630')));
    await settled(3);
    const byEvent = (await seenOf(key))!;
    const etag = (await current(key)).get(key)!.etag;
    expect(byEvent.etag).toBe(etag);
    // Stamped from the clock discovery uses: newer than every version handed out before.
    expect(byEvent.version).toBeGreaterThan(clockBefore);
    expect(holds(await heldObject(db, 'loupe', layout.shards, key), etag, byEvent.version!)).toBe(true);

    // The safety-net re-list finds the same version: nothing to do for it (the unannounced object
    // put in the first test is new to it).
    const pass = (await pipeline.discover()) as DiscoveryReport;
    expect(pass).toMatchObject({ ran: true, new: 1, changed: 0, deleted: 0 });
    expect(pass.version).toBeGreaterThan(byEvent.version!);
    await settled(4);
    expect(await seenOf(key)).toEqual(byEvent);
    expect((await ingestJobsOf(key)).map((d) => d.version)).toEqual([byEvent.version]);
    expect(holds(await heldObject(db, 'loupe', layout.shards, key), etag, byEvent.version!)).toBe(true);
    // Indexed once (the object and the unannounced one created), never replaced, nothing refused.
    expect(await counters()).toEqual({ created: before.created + 2, replaced: before.replaced, stale: before.stale });
    expect((await byKey(key)).body.hits[0]).toMatchObject({ key, distance: 0 });
  });
});

/** The ETag S3 gives a single-part upload: the MD5 of the bytes. */
function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}
