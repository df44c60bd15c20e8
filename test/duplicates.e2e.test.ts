import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingJobs, REPO_ROOT } from '@loupe/shared';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { startPipeline, waitFor, type RunningPipeline } from './support/pipeline.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';

const SAMPLES = path.join(REPO_ROOT, 'samples');
const PHOTOS = path.join(process.env.LOUPE_DATASETS ?? path.join(os.homedir(), '.cache/loupe-datasets'), 'photos');
/**
 * Two photos of one scene: the photo data set's stereo pair when it is there (scripts outside the
 * tree fetch it), else two crops of one sample that overlap by a tenth of its width.
 */
async function burstPair(): Promise<[string, Buffer][]> {
  const pair = ['sk-motorcycle_left.png', 'sk-motorcycle_right.png'].map((f) => path.join(PHOTOS, f));
  if (pair.every((f) => existsSync(f))) return Promise.all(pair.map(async (f) => [`burst/${path.basename(f)}`, await sharp(f).toBuffer()] as [string, Buffer]));
  const wall = path.join(SAMPLES, 'graffiti.jpg');
  return [
    ['burst/left.jpg', await crop(wall, 0, 0, 0.55, 1)],
    ['burst/right.jpg', await crop(wall, 0.45, 0, 0.55, 1)],
  ];
}

/** A JPEG of `file` resized to `scale` of its width. */
async function resized(file: string, scale: number): Promise<Buffer> {
  const { width } = await sharp(file).metadata();
  return sharp(file).resize({ width: Math.round(width! * scale) }).jpeg({ quality: 85 }).toBuffer();
}

/** The part of `file` from (fx, fy), fw x fh of its sides, as a JPEG. */
async function crop(file: string, fx: number, fy: number, fw: number, fh: number): Promise<Buffer> {
  const { width: w, height: h } = await sharp(file).metadata();
  return sharp(file).extract({ left: Math.round(w! * fx), top: Math.round(h! * fy), width: Math.round(w! * fw), height: Math.round(h! * fh) }).jpeg({ quality: 85 }).toBuffer();
}

/** `inner` scaled to `side` of `scene`'s width and pasted into it at (fx, fy): a picture holding another. */
async function pasted(scene: string, inner: string, side: number, fx: number, fy: number): Promise<Buffer> {
  const { width: w, height: h } = await sharp(scene).metadata();
  const part = await sharp(inner).resize({ width: Math.round(w! * side) }).toBuffer();
  return sharp(scene).composite([{ input: part, left: Math.round(w! * fx), top: Math.round(h! * fy) }]).jpeg({ quality: 90 }).toBuffer();
}

interface Group {
  id: string;
  original: { key: string; width: number; height: number; bytes: number };
  members: { key: string; relation: string; score: number; box?: object; bytes: number }[];
  reclaimableBytes: number;
}

describe('duplicate groups through the whole pipeline (folder source, real CNN)', () => {
  let redis: TestRedis;
  let dir: string;
  let pipeline: RunningPipeline;
  let queues: TestQueues;
  const files = new Map<string, Buffer>();
  let burst: [string, Buffer][];

  const settled = () =>
    waitFor('indexing and group upkeep done', async () => {
      for (const q of [queues.ingest, queues.encode, queues.index, queues.groups]) {
        if (pendingJobs(await q.getJobCounts(...['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const))) return false;
      }
      return true;
    });
  const duplicates = async (qs = ''): Promise<{ groups: Group[]; nextCursor: string | null; total: number }> => (await fetch(`${pipeline.base}/v1/duplicates${qs}`)).json();

  beforeAll(async () => {
    const coffee = path.join(SAMPLES, 'coffee.jpg');
    const cat = path.join(SAMPLES, 'chelsea-cat.jpg');
    files.set('coffee/original.jpg', await sharp(coffee).jpeg({ quality: 95 }).toBuffer());
    files.set('coffee/medium.jpg', await resized(coffee, 0.8));
    files.set('coffee/small.jpg', await resized(coffee, 0.6));
    files.set('coffee/crop.jpg', await crop(coffee, 0.25, 0.25, 0.5, 0.5));
    files.set('coffee/in-scene.jpg', await pasted(path.join(SAMPLES, 'leuven.jpg'), coffee, 0.5, 0.3, 0.2));
    files.set('cat/original.jpg', await sharp(cat).jpeg({ quality: 95 }).toBuffer());
    files.set('cat/larger-copy.png', await sharp(cat).resize({ width: 600 }).png().toBuffer());
    files.set('cat/crop.jpg', await crop(cat, 0.3, 0.2, 0.5, 0.5));
    // Two photos of one scene (a burst-like pair): never grouped.
    burst = await burstPair();
    for (const [k, b] of burst) files.set(k, b);
    for (const f of ['astronaut.jpg', 'rocket.jpg', 'fruits.jpg', 'building.jpg']) files.set(`other/${f}`, await sharp(path.join(SAMPLES, f)).toBuffer());

    redis = await startRedis();
    dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-dups-'));
    for (const [k, bytes] of files) {
      mkdirSync(path.dirname(path.join(dir, k)), { recursive: true });
      writeFileSync(path.join(dir, k), bytes);
    }
    pipeline = await startPipeline({ REDIS_URL: redis.url, LOUPE_SOURCE: `file://${dir}`, LOUPE_SHARDS: '2' });
    queues = openQueues(pipeline.config);
    await waitFor('every file indexed', async () => {
      const s = await (await fetch(`${pipeline.base}/v1/stats`)).json();
      return s.indexed === files.size && s;
    });
    await settled();
  }, 600_000);

  afterAll(async () => {
    await queues?.close();
    await pipeline?.close();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('groups copies, crops and a picture holding another under the whole original, and nothing else', async () => {
    const r = await duplicates();
    expect(r.total).toBe(2);
    expect(r.nextCursor).toBeNull();
    const summary = r.groups.map((g) => ({ original: g.original.key, members: g.members.map((m) => [m.key, m.relation]) }));
    // Largest first.
    expect(summary).toEqual([
      { original: 'coffee/original.jpg', members: [['coffee/crop.jpg', 'crop-of'], ['coffee/in-scene.jpg', 'contains'], ['coffee/medium.jpg', 'copy'], ['coffee/small.jpg', 'copy']] },
      { original: 'cat/larger-copy.png', members: [['cat/crop.jpg', 'crop-of'], ['cat/original.jpg', 'copy']] },
    ]);
    const coffee = r.groups[0];
    expect(coffee.original).toMatchObject({ width: 600, height: 400, bytes: files.get('coffee/original.jpg')!.length });
    expect(coffee.reclaimableBytes).toBe(['coffee/medium.jpg', 'coffee/small.jpg', 'coffee/crop.jpg', 'coffee/in-scene.jpg'].reduce((n, k) => n + files.get(k)!.length, 0));
    for (const m of coffee.members) expect(m.bytes).toBe(files.get(m.key)!.length);
  });

  it('answers the group of one key, 404 for a key in none, and pages and filters the list', async () => {
    const g: Group = await (await fetch(`${pipeline.base}/v1/duplicates/coffee/crop.jpg`)).json();
    expect(g.original.key).toBe('coffee/original.jpg');
    for (const [key] of burst) {
      const none = await fetch(`${pipeline.base}/v1/duplicates/${key}`);
      expect(none.status, key).toBe(404);
      expect((await none.json()).error).toBe('NotFound');
    }
    const first = await duplicates('?limit=1');
    expect(first.groups.map((x) => x.id)).toEqual(['coffee/original.jpg']);
    const second = await duplicates(`?limit=1&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(second.groups.map((x) => x.id)).toEqual(['cat/larger-copy.png']);
    expect(second.nextCursor).toBeNull();
    expect((await fetch(`${pipeline.base}/v1/duplicates?cursor=nonsense`)).status).toBe(400);
    expect((await duplicates('?prefix=coffee/')).groups.map((x) => x.id)).toEqual(['coffee/original.jpg']);
    expect(await duplicates('?minSize=4')).toMatchObject({ total: 1, groups: [{ id: 'coffee/original.jpg' }] });
    expect((await fetch(`${pipeline.base}/v1/duplicates?minSize=1`)).status).toBe(400);
  });

  it('loupe duplicates prints the report: each original, its members, and the bytes they free', async () => {
    // Asynchronously: the query service answering it runs in this process.
    const loupe = (...args: string[]) =>
      promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'bin/loupe.mjs'), 'duplicates', ...args], {
        env: { ...process.env, LOUPE_QUERY_PORT: new URL(pipeline.base).port, LOUPE_LOG_LEVEL: 'warn' },
      });
    const csv = await loupe('--csv');
    const rows = csv.stdout.trim().split('\n').map((l) => l.split(','));
    expect(rows[0]).toEqual(['group', 'key', 'relation', 'score', 'bytes', 'box']);
    expect(rows.filter((r) => r[2] === 'original').map((r) => r[1])).toEqual(['coffee/original.jpg', 'cat/larger-copy.png']);
    const freed = [...files].filter(([k]) => k.startsWith('cat/') || k.startsWith('coffee/')).reduce((n, [, b]) => n + b.length, 0) -
      files.get('cat/larger-copy.png')!.length - files.get('coffee/original.jpg')!.length;
    expect((await loupe()).stdout).toContain(`2 groups, 6 objects besides their originals: deleting them frees`);
    expect(JSON.parse((await loupe('--json')).stdout).reclaimableBytes).toBe(freed);
  });

  const remove = async (...keys: string[]) => {
    const before = (await (await fetch(`${pipeline.base}/v1/stats`)).json()).indexed;
    for (const k of keys) unlinkSync(path.join(dir, k));
    await pipeline.discover();
    await waitFor('the deletes indexed', async () => (await (await fetch(`${pipeline.base}/v1/stats`)).json()).indexed === before - keys.length);
    await settled();
  };

  it('re-elects the largest whole copy when the original is deleted, and splits the group once its copies go too', async () => {
    await remove('coffee/original.jpg');
    const g: Group = await (await fetch(`${pipeline.base}/v1/duplicates/coffee/small.jpg`)).json();
    expect(g.original.key).toBe('coffee/medium.jpg');
    expect(g.members.map((m) => [m.key, m.relation])).toEqual([['coffee/crop.jpg', 'crop-of'], ['coffee/in-scene.jpg', 'contains'], ['coffee/small.jpg', 'copy']]);
    expect((await fetch(`${pipeline.base}/v1/duplicates/coffee/original.jpg`)).status).toBe(404);
    // The crop and the scene holding the photo matched only through its whole copies (0.75 apart).
    await remove('coffee/medium.jpg', 'coffee/small.jpg');
    for (const k of ['coffee/crop.jpg', 'coffee/in-scene.jpg']) expect((await fetch(`${pipeline.base}/v1/duplicates/${k}`)).status).toBe(404);
    expect((await duplicates()).groups.map((g) => g.id)).toEqual(['cat/larger-copy.png']);
  });
});
