import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueNames, REPO_ROOT, type DeadLetter } from '@loupe/shared';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { startS3, type TestS3 } from './support/s3-server.ts';
import { startPipeline, waitFor, type RunningPipeline } from './support/pipeline.ts';

const BUCKET = 'photos';
const TOKEN = 'open-sesame';
const sample = (f: string) => readFileSync(path.join(REPO_ROOT, 'samples', f));
const bad = (f: string) => readFileSync(path.join(REPO_ROOT, 'test/fixtures/bad-images', f));
const GOOD = ['lib/apple.jpg', 'lib/coffee.jpg', 'lib/rocket.jpg'];
/** Each bad object's fate below: retried while still bad, fixed, deleted, and gone before a retry. */
const STILL_BAD = 'lib/bad/text.jpg';
const FIXED = 'lib/bad/truncated.jpg';
const DELETED = 'lib/bad/random.png';
const GONE = 'lib/bad/empty.jpg';

/** The CLI as a user runs it, asynchronously: the services it talks to run in this process. */
function loupe(args: string[], env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'bin/loupe.mjs'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      timeout: 60_000,
    }, (err, stdout, stderr) => resolve({ status: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('dead letters: listed, retried, and no longer failed once fixed or deleted', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let pipeline: RunningPipeline;
  let cliEnv: Record<string, string>;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const get = async (p: string) => {
    const r = await fetch(`${pipeline.base}${p}`, { headers: auth });
    return { status: r.status, body: await r.json() };
  };
  const post = async (p: string, body: unknown) => {
    const r = await fetch(`${pipeline.base}${p}`, { method: 'POST', body: JSON.stringify(body), headers: { ...auth, 'content-type': 'application/json' } });
    return { status: r.status, body: await r.json() };
  };
  const stats = async () => (await get('/v1/stats')).body;
  const dead = async (): Promise<DeadLetter[]> => (await get('/v1/dead?limit=1000')).body.deadLetters;
  const waitStats = (what: string, want: { indexed: number; failed: number }) =>
    waitFor(what, async () => {
      const s = await stats();
      return s.indexed === want.indexed && s.failed === want.failed && s.pending === 0 && s;
    }, 120_000);

  beforeAll(async () => {
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    s3.createBucket(BUCKET);
    for (const key of GOOD) await s3.put(BUCKET, key, sample(path.basename(key)));
    await s3.put(BUCKET, STILL_BAD, bad('text.jpg'));
    await s3.put(BUCKET, FIXED, bad('truncated-body.jpg'));
    await s3.put(BUCKET, DELETED, bad('random.png'));
    await s3.put(BUCKET, GONE, bad('empty.jpg'));
    pipeline = await startPipeline({ ...s3.env, REDIS_URL: redis.url, LOUPE_SOURCE: `s3://${BUCKET}/lib/`, LOUPE_SHARDS: '2', LOUPE_TOKEN: TOKEN });
    cliEnv = { LOUPE_QUERY_HOST: '127.0.0.1', LOUPE_QUERY_PORT: String(pipeline.config.LOUPE_QUERY_PORT), LOUPE_TOKEN: TOKEN };
    await waitStats('the good photos indexed and the bad ones dead-lettered', { indexed: 3, failed: 4 });
  });

  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([redis?.stop(), s3?.stop()]);
  });

  it('lists every failed object once, newest first, with stage, version and reason, in pages, behind the token', async () => {
    expect((await fetch(`${pipeline.base}/v1/dead`)).status).toBe(401);
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'lib/bad/' }));
    const etags = new Map((listed.Contents ?? []).map((o) => [o.Key!, o.ETag!.replace(/"/g, '')]));

    const all = await get('/v1/dead');
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(4);
    expect(all.body.nextCursor).toBeNull();
    const letters: DeadLetter[] = all.body.deadLetters;
    expect(letters.map((d) => d.key).sort()).toEqual([DELETED, GONE, FIXED, STILL_BAD].sort());
    const reasons = Object.fromEntries(letters.map((d) => [d.key, d.reason.split(':')[0]]));
    expect(reasons).toEqual({ [STILL_BAD]: 'not-an-image', [FIXED]: 'corrupt', [DELETED]: 'not-an-image', [GONE]: 'empty' });
    for (const d of letters) expect(d, d.key).toMatchObject({ stage: 'ingest', etag: etags.get(d.key) });
    const times = letters.map((d) => Date.parse(d.at));
    expect(times.every((t, i) => i === 0 || t <= times[i - 1])).toBe(true);

    const first = await get('/v1/dead?limit=3');
    expect(first.body.deadLetters).toEqual(letters.slice(0, 3));
    const second = await get(`/v1/dead?limit=3&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({ deadLetters: letters.slice(3), total: 4, nextCursor: null });

    const openapi = await (await fetch(`${pipeline.base}/docs/json`)).json();
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/v1/dead', '/v1/dead/retry']));
    expect((await get('/v1/dead?cursor=bm90LW1pbmU')).status).toBe(400);
    expect((await get('/v1/dead?limit=0')).status).toBe(400);
    // The history queue keeps its entries (outside users read loupe-dead).
    const history = new Queue(QueueNames.dead, { connection: { url: redis.url } as any, prefix: 'bull' });
    expect((await history.getJobs(['waiting'])).map((j) => j.data.key).sort()).toEqual(letters.map((d) => d.key).sort());
    await history.close();
  });

  it('loupe dead prints the same list as JSON and as a table', async () => {
    const json = await loupe(['dead', '--json', '--limit', '3'], cliEnv);
    expect(json.stderr).toBe('');
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual((await get('/v1/dead?limit=3')).body);

    const table = await loupe(['dead'], cliEnv);
    expect(table.status).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^failed at\s+stage\s+key\s+etag\s+reason$/);
    const letters = await dead();
    letters.forEach((d, i) => expect(lines[2 + i]).toMatch(new RegExp(`^${d.at}\\s+ingest\\s+${d.key}\\s+${d.etag}\\s+${d.reason.split(':')[0]}`)));
    expect(lines.at(-1)).toBe('4 of 4 dead letters');
    expect((await loupe(['dead', '--limit', '1'], cliEnv)).stdout).toMatch(/1 of 4 dead letters; next page: loupe dead --cursor [\w-]+\n$/);
    expect((await loupe(['dead'], { ...cliEnv, LOUPE_TOKEN: 'not-the-token' })).stderr).toMatch(/401/);
  });

  it('retries a key under a new job id: a still-bad object runs again and stays failed', async () => {
    const before = (await dead()).find((d) => d.key === STILL_BAD)!;
    const r = await loupe(['dead', 'retry', STILL_BAD], cliEnv);
    expect([r.status, r.stdout]).toEqual([0, 'requeued 1, dropped 0 (no longer in the source)\n']);
    const again = await waitFor('the retried object to fail again', async () => {
      const d = (await dead()).find((x) => x.key === STILL_BAD);
      return d && Date.parse(d.at) > Date.parse(before.at) && d;
    }, 60_000);
    expect(again).toMatchObject({ stage: 'ingest', etag: before.etag, reason: before.reason });
    expect((await dead())[0].key).toBe(STILL_BAD); // newest first
    expect((await stats()).failed).toBe(4);

    const unknown = await loupe(['dead', 'retry', 'lib/apple.jpg'], cliEnv);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/404 NotFound: lib\/apple.jpg is not a dead letter/);
    expect((await post('/v1/dead/retry', {})).status).toBe(400);
    expect((await post('/v1/dead/retry', { key: STILL_BAD, all: true })).status).toBe(400);
    expect((await post('/v1/dead/retry', { all: false })).status).toBe(400);
  });

  it('counts an object as failed no more once a good image replaces it', async () => {
    await s3.put(BUCKET, FIXED, sample('astronaut.jpg'));
    await pipeline.discover();
    await waitStats('the fixed object indexed', { indexed: 4, failed: 3 });
    expect((await dead()).map((d) => d.key)).not.toContain(FIXED);
    const hit = await post('/v1/search?k=1', { key: FIXED });
    expect(hit.body.hits[0]).toMatchObject({ key: FIXED, distance: 0 });
  });

  it('counts an object as failed no more once it is deleted', async () => {
    await s3.remove(BUCKET, DELETED);
    await pipeline.discover();
    await waitStats('the deleted object no longer failed', { indexed: 4, failed: 2 });
    expect((await dead()).map((d) => d.key).sort()).toEqual([GONE, STILL_BAD].sort());
  });

  it('retry --all drops what the source no longer has and re-queues the current version of the rest', async () => {
    await s3.remove(BUCKET, GONE); // no discovery pass: only the retry finds out
    await s3.put(BUCKET, STILL_BAD, sample('chelsea-cat.jpg'));
    const r = await loupe(['dead', 'retry', '--all', '--json'], cliEnv);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ requeued: 1, dropped: 1 });
    expect((await dead()).map((d) => d.key)).not.toContain(GONE);
    await waitStats('the re-queued object indexed in its new version', { indexed: 5, failed: 0 });
    expect(await get('/v1/dead')).toEqual({ status: 200, body: { deadLetters: [], total: 0, nextCursor: null } });
    expect((await loupe(['dead'], cliEnv)).stdout).toBe('no dead letters\n');
  });
});
