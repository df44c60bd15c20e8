import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeadJobSchema,
  FileObjectSource,
  ObjectGoneError,
  type ObjectEntry,
  EncodeJobSchema,
  ImageRejectedError,
  loadConfig,
  objectJobId,
  REPO_ROOT,
  type LoupeConfig,
} from '@loupe/shared';
import { startIngest } from '@loupe/ingest';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { captureLogger, waitFor } from './support/capture-logger.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';

const SAMPLES = path.join(REPO_ROOT, 'samples');
let dir: string;
let redis: TestRedis;

async function listAll(source: FileObjectSource, prefix = ''): Promise<ObjectEntry[]> {
  const out: ObjectEntry[] = [];
  for await (const e of source.list(prefix)) out.push(e);
  return out;
}

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(path.join(tmpdir(), 'loupe-file-source-'));
  mkdirSync(path.join(dir, 'photos/nested/deep'), { recursive: true });
  mkdirSync(path.join(dir, '.hidden'));
  copyFileSync(path.join(SAMPLES, 'astronaut.jpg'), path.join(dir, 'photos/a.jpg'));
  copyFileSync(path.join(SAMPLES, 'coins.jpg'), path.join(dir, 'photos/nested/deep/b.jpg'));
  copyFileSync(path.join(SAMPLES, 'home.jpg'), path.join(dir, 'c-no-extension'));
  writeFileSync(path.join(dir, 'broken.jpg'), 'not a jpeg at all');
  writeFileSync(path.join(dir, 'notes.txt'), 'skipped by name');
  writeFileSync(path.join(dir, 'LICENSE'), 'skipped by name');
  copyFileSync(path.join(SAMPLES, 'apple.jpg'), path.join(dir, '.hidden/d.jpg'));
  // A link pointing out of the folder is never followed.
  symlinkSync(path.join(SAMPLES, 'orange.jpg'), path.join(dir, 'photos/link.jpg'));
});

afterAll(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('FileObjectSource', () => {
  it('walks the folder recursively, regular files only, keys with / separators', async () => {
    const source = new FileObjectSource(dir);
    const entries = await listAll(source);
    expect(entries.map((e) => e.key).sort()).toEqual(
      ['.hidden/d.jpg', 'LICENSE', 'broken.jpg', 'c-no-extension', 'notes.txt', 'photos/a.jpg', 'photos/nested/deep/b.jpg'].sort(),
    );
    const a = entries.find((e) => e.key === 'photos/a.jpg')!;
    expect(a.size).toBe(readFileSync(path.join(dir, 'photos/a.jpg')).length);
    expect(a.etag).toMatch(/^[0-9a-f]{40}$/);
    // Stable while nothing changes; a prefix narrows the walk.
    expect((await listAll(source)).find((e) => e.key === 'photos/a.jpg')!.etag).toBe(a.etag);
    expect((await listAll(source, 'photos/')).map((e) => e.key).sort()).toEqual(['photos/a.jpg', 'photos/nested/deep/b.jpg']);
    expect(await source.stat('photos/a.jpg')).toEqual(a);
    expect(await source.stat('photos/link.jpg')).toBeNull();
  });

  it('gets exactly the listed version, within the byte limit, inside the folder', async () => {
    const source = new FileObjectSource(dir);
    const a = (await source.stat('photos/a.jpg'))!;
    expect((await source.get('photos/a.jpg', { etag: a.etag })).equals(readFileSync(path.join(dir, 'photos/a.jpg')))).toBe(true);
    await expect(source.get('photos/a.jpg', { etag: 'f'.repeat(40) })).rejects.toMatchObject({ why: 'changed' });
    await expect(source.get('photos/missing.jpg')).rejects.toBeInstanceOf(ObjectGoneError);
    await expect(source.get('../outside.jpg')).rejects.toBeInstanceOf(ObjectGoneError);
    await expect(source.get('photos/link.jpg')).rejects.toBeInstanceOf(ObjectGoneError);
    const big = source.get('photos/a.jpg', { maxBytes: 1024 });
    await expect(big).rejects.toBeInstanceOf(ImageRejectedError);
    await expect(big).rejects.toMatchObject({ reason: 'too-large-bytes' });
  });
});

describe('ingest from a file:// folder', () => {
  let config: LoupeConfig;
  let queues: TestQueues;

  beforeAll(() => {
    config = loadConfig({ LOUPE_SOURCE: pathToFileURL(dir).href, REDIS_URL: redis.url, LOUPE_POLL_MS: '0' });
    queues = openQueues(config);
  });
  afterAll(async () => {
    await queues?.close();
  });

  const settled = () =>
    waitFor(async () => {
      const c = await queues.ingest.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return c.waiting + c.active + c.delayed + c.prioritized === 0;
    });

  it('backfills, then sees a rewritten file and a deleted one', async () => {
    const logs = captureLogger();
    const ingest = await startIngest(config, { discovery: 'manual', logger: logs.logger });
    try {
      const first = await ingest.discoverOnce();
      expect(first).toMatchObject({ listed: 7, skipped: 3, new: 4 });
      await settled();
      const source = new FileObjectSource(dir);
      const expected = [];
      for (const key of ['photos/a.jpg', 'photos/nested/deep/b.jpg', 'c-no-extension']) {
        expected.push(objectJobId('encode', key, (await source.stat(key))!.etag, first.version));
      }
      const encodeJobs = await queues.encode.getJobs(['waiting']);
      expect(encodeJobs.map((j) => j.id).sort()).toEqual(expected.sort());
      encodeJobs.forEach((j) => EncodeJobSchema.parse(j.data));
      const dead = (await queues.dead.getJobs(['waiting'])).map((j) => DeadJobSchema.parse(j.data));
      expect(dead.map((d) => [d.key, d.reason.split(':')[0]])).toEqual([['broken.jpg', 'not-an-image']]);

      // Rewrite a.jpg with other bytes (and a later mtime, whatever the clock resolution).
      copyFileSync(path.join(SAMPLES, 'fruits.jpg'), path.join(dir, 'photos/a.jpg'));
      const later = new Date(Date.now() + 5000);
      utimesSync(path.join(dir, 'photos/a.jpg'), later, later);
      unlinkSync(path.join(dir, 'photos/nested/deep/b.jpg'));
      const second = await ingest.discoverOnce();
      expect(second).toMatchObject({ new: 0, changed: 1, deleted: 1, unchanged: 2 });
      expect(second.version).toBeGreaterThan(first.version);
      await settled();
      const a = (await source.stat('photos/a.jpg'))!;
      const job = await queues.encode.getJob(objectJobId('encode', 'photos/a.jpg', a.etag, second.version));
      expect(job?.data.width).toBe(512); // fruits.jpg is 512x480, astronaut 512x512
      expect(job?.data.height).toBe(480);
      const deletes = await queues.index.getJobs(['waiting']);
      expect(deletes.map((j) => j.data)).toEqual([{ op: 'delete', key: 'photos/nested/deep/b.jpg', version: second.version }]);
    } finally {
      await ingest.close();
    }
  });

  it('polls on its own every LOUPE_POLL_MS, logging at info only the passes that found something', async () => {
    const polling = loadConfig({ LOUPE_SOURCE: pathToFileURL(dir).href, REDIS_URL: redis.url, LOUPE_POLL_MS: '200' });
    const logs = captureLogger('debug');
    const ingest = await startIngest(polling, { logger: logs.logger });
    try {
      await waitFor(() => logs.events('discovery').length >= 1);
      copyFileSync(path.join(SAMPLES, 'rocket.jpg'), path.join(dir, 'photos/new-rocket.jpg'));
      await waitFor(() => logs.events('discovery').some((l) => l.new === 1));
      const passes = logs.events('discovery');
      expect(passes.find((l) => l.new === 1)?.level).toBe(30);
      expect(passes.filter((l) => l.new === 0 && l.changed === 0 && l.deleted === 0).every((l) => l.level === 20)).toBe(true);
      const st = (await new FileObjectSource(dir).stat('photos/new-rocket.jpg'))!;
      const version = passes.find((l) => l.new === 1)?.version as number;
      await waitFor(() => queues.encode.getJob(objectJobId('encode', 'photos/new-rocket.jpg', st.etag, version)));
    } finally {
      await ingest.close();
    }
  });
});
