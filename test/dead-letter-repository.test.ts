import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEAD_LETTERS_BY_TIME_KEY, DEAD_LETTERS_KEY, DeadLetterCursorError, DeadLetterRepository, type DeadLetter } from '@loupe/shared';
import { startRedis, type TestRedis } from './support/redis-server.ts';

const at = (ms: number) => new Date(ms).toISOString();
const letter = (key: string, ms: number, reason = 'corrupt: premature end'): DeadLetter => ({ stage: 'ingest', key, etag: `e-${key}`, reason, at: at(ms) });

/** Every page from the start, `limit` at a time. */
async function walk(repo: DeadLetterRepository, limit: number): Promise<DeadLetter[][]> {
  const pages: DeadLetter[][] = [];
  let cursor: string | undefined;
  do {
    const page = await repo.list(limit, cursor);
    pages.push(page.deadLetters);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && pages.length < 100);
  return pages;
}

describe('dead letters in a real redis-server', () => {
  let server: TestRedis;
  let redis: Redis;
  let repo: DeadLetterRepository;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    repo = new DeadLetterRepository(redis);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.del(DEAD_LETTERS_KEY, DEAD_LETTERS_BY_TIME_KEY);
  });

  it('keeps one entry per key, the latest failure, and forgets cleared keys', async () => {
    await repo.record(letter('a.jpg', 1000, 'not-an-image: text'));
    await repo.record(letter('b.jpg', 2000));
    await repo.record({ ...letter('a.jpg', 3000, 'corrupt: bad huffman code'), stage: 'encode', etag: 'e2' });
    expect(await repo.count()).toBe(2);
    expect(await repo.get('a.jpg')).toEqual({ stage: 'encode', key: 'a.jpg', etag: 'e2', reason: 'corrupt: bad huffman code', at: at(3000) });
    expect((await repo.list(10)).deadLetters.map((d) => d.key)).toEqual(['a.jpg', 'b.jpg']);
    expect(await repo.clear(['a.jpg', 'never-failed.jpg'])).toBe(1);
    expect(await repo.clear(['a.jpg'])).toBe(0);
    expect(await repo.get('a.jpg')).toBeNull();
    expect(await repo.list(10)).toEqual({ deadLetters: [letter('b.jpg', 2000)], total: 1, nextCursor: null });
    expect(await redis.zcard(DEAD_LETTERS_BY_TIME_KEY)).toBe(1);
  });

  it('pages newest first through entries of the same millisecond, each entry exactly once', async () => {
    const entries: { key: string; ms: number }[] = [];
    // 23 entries over 4 distinct times, so page boundaries fall inside runs of equal times; later
    // times get smaller keys, so neither order alone gives the listing's order.
    for (let i = 0; i < 23; i++) {
      const e = { key: `k/${String(22 - i).padStart(2, '0')}.jpg`, ms: 1_000_000 + Math.floor(i / 6) * 1000 };
      entries.push(e);
      await repo.record(letter(e.key, e.ms));
    }
    const expected = [...entries].sort((a, b) => b.ms - a.ms || (a.key < b.key ? 1 : -1)).map((e) => e.key);
    expect(expected.slice(0, 6)).toEqual(['k/04.jpg', 'k/03.jpg', 'k/02.jpg', 'k/01.jpg', 'k/00.jpg', 'k/10.jpg']);
    for (const limit of [1, 2, 5, 6, 7, 22, 23, 50]) {
      const pages = await walk(repo, limit);
      expect(pages.flat().map((d) => d.key), `limit ${limit}`).toEqual(expected);
      expect(pages.length, `limit ${limit}`).toBe(Math.max(1, Math.ceil(23 / limit)));
      expect(pages.every((p) => p.length <= limit)).toBe(true);
    }
  });

  it('neither repeats nor skips entries when others fail or clear between pages', async () => {
    for (let i = 0; i < 10; i++) await repo.record(letter(`k${i}`, 1000 + i * 10));
    const first = await repo.list(4); // k9 k8 k7 k6
    expect(first.deadLetters.map((d) => d.key)).toEqual(['k9', 'k8', 'k7', 'k6']);
    await repo.clear(['k6', 'k5']); // the cursor's own entry and the next one
    await repo.record(letter('new', 5000)); // fails after the first page was read
    await repo.record(letter('k3', 6000)); // fails again: moves to the front
    const second = await repo.list(4, first.nextCursor!);
    expect(second.deadLetters.map((d) => d.key)).toEqual(['k4', 'k2', 'k1', 'k0']);
    expect(second.nextCursor).toBeNull();
    expect(second.total).toBe(9);
  });

  it('refuses a cursor it did not make', async () => {
    await repo.record(letter('a', 1));
    await expect(repo.list(5, 'bm9wZQ')).rejects.toThrow(DeadLetterCursorError);
  });
});
