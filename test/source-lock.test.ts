import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestKeys, ObjectVersionClock } from '@loupe/shared';
import { SourceLockRepository } from '../services/ingest/src/repositories/source-lock.repository.ts';
import { SourceLockLostError, SourceLockService } from '../services/ingest/src/services/source-lock.service.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';

let redis: TestRedis;
let db: Redis;

beforeAll(async () => {
  redis = await startRedis();
  db = new Redis(redis.url);
});

afterAll(async () => {
  db?.disconnect();
  await redis?.stop();
});

/** A SourceLockService of its own: another ingest process, as far as the lock can tell. */
const processFor = (source: string) =>
  new SourceLockService({ locks: new SourceLockRepository(db, source), clock: new ObjectVersionClock(db), sourceUrl: source });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a source's lock (real Redis)", () => {
  it('a pass skips while another listing holds it; versions follow the order of the holds', async () => {
    const source = 's3://b/skip/';
    const [a, b] = [processFor(source), processFor(source)];
    let release!: () => void;
    const listing = a.hold('pass', (held) => new Promise<number>((r) => (release = () => r(held.version))), { wait: false });
    await sleep(50);
    expect(await b.hold('pass', async () => 'ran', { wait: false })).toBeNull();
    // An event waits for the listing, then gets a newer version.
    const event = b.hold('event', async (held) => held.version, { wait: true });
    await sleep(300);
    release();
    const passVersion = (await listing)!;
    expect(await event).toBeGreaterThan(passVersion);
    expect(await db.exists(new IngestKeys().discoveryLock(source))).toBe(0);
  });

  it('a pass that finds events holding it reserves the next turn, so events elsewhere cannot starve it', async () => {
    const source = 's3://b/turn/';
    const [ingestA, ingestB] = [processFor(source), processFor(source)];
    const order: string[] = [];
    let release!: () => void;
    const first = ingestB.hold('event', () => new Promise<void>((r) => (release = r)), { wait: true });
    await sleep(50);
    const pass = ingestA.hold('pass', async () => void order.push('pass'), { wait: false });
    await sleep(100); // the pass polls and reserves the turn
    expect(await db.get(new IngestKeys().discoveryLockTurn(source))).toMatch(/^list:pass:/);
    // Another process's event comes now: it may not take the lock the pass has reserved.
    const later = processFor(source).hold('event', async () => void order.push('event'), { wait: true });
    release();
    await Promise.all([first, pass, later]);
    expect(order).toEqual(['pass', 'event']);
    expect(await db.exists(new IngestKeys().discoveryLockTurn(source))).toBe(0);
  });

  it('a holder that lost the lock learns it before queueing; a wait ends on abort', async () => {
    const source = 's3://b/lost/';
    const lock = processFor(source);
    await expect(lock.hold('event', async (held) => {
      await db.set(new IngestKeys().discoveryLock(source), 'list:pass:someone-else'); // expired and taken
      await held.keep();
    }, { wait: true })).rejects.toBeInstanceOf(SourceLockLostError);

    const stop = new AbortController();
    const waiting = lock.hold('event', async () => 'ran', { wait: true, signal: stop.signal });
    await sleep(100);
    stop.abort();
    await expect(waiting).rejects.toThrow();
    await db.del(new IngestKeys().discoveryLock(source));
    // The line moves on: the next hold in this process is not stuck behind the aborted one.
    expect(await lock.hold('event', async () => 'ran', { wait: true })).toBe('ran');
  });
});
