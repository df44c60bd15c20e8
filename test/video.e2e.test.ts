import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedis,
  DeadJobSchema,
  EncodeJobSchema,
  loadConfig,
  FileObjectSource,
  frameKey,
  IngestKeys,
  KeyframeExtractor,
  locateFfmpeg,
  REPO_ROOT,
  type DeadLetter,
  type RedisClient,
} from '@loupe/shared';
import { startIngest } from '@loupe/ingest';
import { captureLogger } from './support/capture-logger.ts';
import { heldObject } from './support/index-probe.ts';
import { openQueues } from './support/test-queues.ts';
import { searchBytes, startPipeline, waitFor, type RunningPipeline } from './support/pipeline.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { debianClip, frameAt, makeSlideshow, remuxToMkv } from './support/videos.ts';

const SAMPLES = path.join(REPO_ROOT, 'samples');
const sample = (f: string) => path.join(SAMPLES, f);
const ffmpeg = await locateFfmpeg();
/** Keyframe interval of these tests (seconds): a frame grab must be found within one of it. */
const INTERVAL = 2;
const STILLS = ['apple.jpg', 'baboon.jpg', 'building.jpg', 'butterfly.jpg', 'coins.jpg', 'starry-night.jpg'];
const VIDEO = 'clips/slides.mp4';
/** A real street clip from a Debian package, as MKV, when it can be had (debianClip). */
const CLIP = 'clips/city.mkv';
const clip = ffmpeg ? debianClip() : null;
if (ffmpeg && !clip) console.warn('video.e2e: the Debian clip could not be fetched; its test is skipped');

describe('ffmpeg', () => {
  it.runIf(process.platform === 'linux' && process.arch === 'x64')('is the npm package\'s static build on Linux x64', () => {
    expect(ffmpeg).toMatchObject({ from: 'npm', path: expect.stringContaining('@ffmpeg-installer/linux-x64') });
  });

  it('without one, a video is refused as video-unsupported', async () => {
    const extractor = new KeyframeExtractor(null, { maxBytes: 1e9, maxFrames: 10, frameIntervalS: 5, maxSeconds: 60 });
    await expect(extractor.extract(Buffer.alloc(100))).rejects.toMatchObject({ name: 'VideoRejectedError', reason: 'video-unsupported', message: 'no ffmpeg' });
  });

  it('without one, ingest says so at start, dead-letters videos and prepares images as before', async () => {
    const redis = await startRedis();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-no-ffmpeg-'));
    copyFileSync(sample('coffee.jpg'), path.join(dir, 'coffee.jpg'));
    // The start of an MP4 (a box `ftyp`, brand `isom`): a video by its bytes, whatever follows.
    writeFileSync(path.join(dir, 'clip.bin'), Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom'), Buffer.alloc(200)]));
    const config = loadConfig({ REDIS_URL: redis.url, LOUPE_SOURCE: `file://${dir}`, LOUPE_POLL_MS: '0' });
    const queues = openQueues(config);
    const logs = captureLogger();
    const ingest = await startIngest(config, { ffmpeg: null, logger: logs.logger });
    try {
      expect(logs.lines.find((l) => l.event === 'ffmpeg')).toMatchObject({ path: null, level: 40 });
      await waitFor('the video dead-lettered and the image queued', async () => (await queues.dead.count()) === 1 && (await queues.encode.count()) === 1, 60_000);
      const [dead] = await queues.dead.getJobs(['waiting']);
      expect(DeadJobSchema.parse(dead.data)).toMatchObject({ stage: 'ingest', key: 'clip.bin', reason: 'video-unsupported: no ffmpeg' });
      const [encode] = await queues.encode.getJobs(['waiting']);
      expect(EncodeJobSchema.parse(encode.data)).toMatchObject({ key: 'coffee.jpg' });
    } finally {
      await ingest.close();
      await queues.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!ffmpeg)('videos through the whole pipeline (folder source, default model)', () => {
  let redis: TestRedis;
  let dir: string;
  let work: string;
  let pipeline: RunningPipeline;
  let client: RedisClient;
  let framesKey: string;

  const stats = async () => (await fetch(`${pipeline.base}/v1/stats`)).json();
  const frameList = async (key: string): Promise<{ etag: string; times: number[] } | null> => {
    const v = await client.hget(framesKey, key);
    return v === null ? null : JSON.parse(v);
  };
  const indexed = async (key: string) => (await heldObject(client, 'loupe', 2, key)) !== null;
  /** Frames of the Debian clip (0 without it; -1 while it is not cut yet, so no count matches). */
  const clipFrames = async () => (clip ? ((await frameList(CLIP))?.times.length ?? -1) : 0);

  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-video-src-'));
    work = mkdtempSync(path.join(os.tmpdir(), 'loupe-video-work-'));
    for (const f of STILLS) copyFileSync(sample(f), path.join(dir, f));
    // Photos of the video are not indexed as stills: a frame grab can only find the video.
    await makeSlideshow(ffmpeg!, ['coffee.jpg', 'rocket.jpg', 'chelsea-cat.jpg'].map(sample), path.join(work, 'slides.mp4'));
    const video = readFileSync(path.join(work, 'slides.mp4'));
    mkdirSync(path.join(dir, 'clips'));
    writeFileSync(path.join(dir, VIDEO), video);
    // Cut in half: the MP4's index (moov, written last) is gone.
    writeFileSync(path.join(dir, 'clips/truncated.mp4'), video.subarray(0, video.length >> 1));
    if (clip) await remuxToMkv(ffmpeg!, clip, path.join(dir, CLIP));
    pipeline = await startPipeline({
      REDIS_URL: redis.url, LOUPE_SOURCE: `file://${dir}`, LOUPE_SHARDS: '2', LOUPE_VIDEO_FRAME_INTERVAL_S: String(INTERVAL),
    });
    client = createRedis(pipeline.config);
    framesKey = new IngestKeys().videoFrames(FileObjectSource.urlOf(dir));
    await waitFor('the stills and the video\'s frames indexed, the truncated video dead-lettered', async () => {
      const s = await stats();
      const list = await frameList(VIDEO);
      return list && s.pending === 0 && s.failed === 1 && s.indexed === STILLS.length + list.times.length + (await clipFrames()) && s;
    });
  });

  afterAll(async () => {
    client?.disconnect();
    await pipeline?.close();
    await redis?.stop();
    for (const d of [dir, work]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('cuts the 12 s slideshow into the first frame, its scene changes and a frame every 2 s, each indexed as <key>#t=', async () => {
    const list = (await frameList(VIDEO))!;
    // 0, 2 (coffee), 4 (cut to the rocket), 6, 8 (cut to the cat), 10: the cuts fall on the interval here.
    expect(list.times).toEqual([0, 2, 4, 6, 8, 10]);
    for (const t of list.times) expect(await indexed(frameKey(VIDEO, t)), `t=${t}`).toBe(true);
    expect(await indexed(VIDEO)).toBe(false);
    expect((await stats()).runtime.ffmpeg).toBe(`${ffmpeg!.version} (${ffmpeg!.from})`);
  });

  it('serves a keyframe\'s thumbnail, cut out of the video, at the video\'s size (the web page shows it for a hit)', async () => {
    const thumb = await fetch(`${pipeline.base}/v1/thumbnail/${encodeURIComponent(frameKey(VIDEO, 6))}?size=96`, { headers: { accept: 'image/jpeg' } });
    expect(thumb.status).toBe(200);
    expect([thumb.headers.get('content-type'), thumb.headers.get('x-image-width'), thumb.headers.get('x-image-height')]).toEqual(['image/jpeg', '480', '270']);
    const body = Buffer.from(await thumb.arrayBuffer());
    const meta = await sharp(body).metadata();
    expect([meta.width, meta.height]).toEqual([96, 54]);
    // The rocket's photo, not the coffee's: the frame at 6 s, not the video's first.
    const grab = await sharp(await frameAt(ffmpeg!, path.join(work, 'slides.mp4'), 6, path.join(work, 'grab-6.png'))).resize(96, 54).raw().toBuffer();
    const first = await sharp(await frameAt(ffmpeg!, path.join(work, 'slides.mp4'), 0, path.join(work, 'grab-0.png'))).resize(96, 54).raw().toBuffer();
    const got = await sharp(body).raw().toBuffer();
    const diff = (a: Buffer, b: Buffer) => a.reduce((n, v, i) => n + Math.abs(v - b[i]), 0) / a.length;
    expect(diff(got, grab)).toBeLessThan(diff(got, first) / 3);
    expect((await fetch(`${pipeline.base}/v1/thumbnail/${encodeURIComponent(VIDEO)}?size=96`)).status).toBe(404);
  });

  it('finds the video at the right moment from a frame grab and from a crop of one, once per video', async () => {
    for (const T of [1.3, 5.2, 9.6]) {
      const grab = await frameAt(ffmpeg!, path.join(work, 'slides.mp4'), T, path.join(work, `grab-${T}.png`));
      const crop = await sharp(grab).extract({ left: 144, top: 54, width: 240, height: 135 }).jpeg({ quality: 90 }).toBuffer();
      for (const [what, bytes, type] of [['grab', grab, 'image/png'], ['crop', crop, 'image/jpeg']] as const) {
        const r = await searchBytes(pipeline.base, bytes, '', type);
        expect(r.status, `${what} at ${T}`).toBe(200);
        expect(r.hits[0], `${what} at ${T}`).toMatchObject({ key: VIDEO, region: expect.any(Object) });
        expect(Math.abs(r.hits[0].t - T), `${what} at ${T}: t=${r.hits[0].t}`).toBeLessThanOrEqual(INTERVAL);
        expect(r.hits.filter((h: { key: string }) => h.key === VIDEO)).toHaveLength(1);
        expect(r.hits.every((h: { key: string }) => !h.key.includes('#t='))).toBe(true);
      }
    }
    // Asked for more hits than there are objects: every still and every video once, although the
    // first 10 objects found hold several frames of the slideshow (the search goes wider).
    const grab = await frameAt(ffmpeg!, path.join(work, 'slides.mp4'), 5.2, path.join(work, 'grab-all.png'));
    const all = await searchBytes(pipeline.base, grab, '?k=10', 'image/png');
    expect(all.hits.map((h: { key: string }) => h.key).sort()).toEqual([...STILLS, VIDEO, ...(clip ? [CLIP] : [])].sort());
    // By key: a keyframe's finds itself; the video's own key is not indexed.
    const byKey = async (key: string) => fetch(`${pipeline.base}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
    expect((await (await byKey(frameKey(VIDEO, 6))).json()).hits[0]).toMatchObject({ key: VIDEO, t: 6, distance: 0 });
    expect((await byKey(VIDEO)).status).toBe(404);
    // A still is a hit without t.
    const still = await searchBytes(pipeline.base, readFileSync(sample('baboon.jpg')));
    expect(still.hits[0]).toMatchObject({ key: 'baboon.jpg' });
    expect(still.hits[0]).not.toHaveProperty('t');
  });

  it.runIf(clip)('cuts a real street clip (MKV) at its scene change too, and a frame grab finds it at the right moment', async () => {
    const list = (await frameList(CLIP))!;
    expect(list.times[0]).toBe(0);
    // Every 2 s, and a cut of the camera between 4 and 6 s.
    expect(list.times.filter((t) => t % INTERVAL !== 0).length).toBeGreaterThan(0);
    for (const T of [1.1, 5.5]) {
      const grab = await frameAt(ffmpeg!, path.join(dir, CLIP), T, path.join(work, `city-${T}.png`));
      const r = await searchBytes(pipeline.base, grab, '', 'image/png');
      expect(r.hits[0], `grab at ${T}`).toMatchObject({ key: CLIP });
      expect(Math.abs(r.hits[0].t - T), `grab at ${T}: t=${r.hits[0].t}`).toBeLessThanOrEqual(INTERVAL);
    }
  });

  it('dead-letters the truncated video with ffmpeg\'s reason and goes on', async () => {
    const dead: DeadLetter[] = (await (await fetch(`${pipeline.base}/v1/dead`)).json()).deadLetters;
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ key: 'clips/truncated.mp4', stage: 'ingest' });
    expect(dead[0].reason).toMatch(/^video-undecodable: .*Invalid data found when processing input/);
    expect(dead[0].reason).not.toContain(os.tmpdir());
  });

  it('replaces the frames of a video overwritten with another, and deletes the ones the new version has not', async () => {
    const before = (await frameList(VIDEO))!;
    const next = path.join(work, 'next.mp4');
    // 5 s per photo: frames at 0, 2, 4, 5 (the cut), 7, 9 — 5, 7 and 9 are new, 6, 8 and 10 must go.
    await makeSlideshow(ffmpeg!, ['astronaut.jpg', 'leuven.jpg'].map(sample), next, 5);
    writeFileSync(path.join(dir, VIDEO), readFileSync(next));
    await pipeline.discover();
    const after = (await waitFor('the new version\'s frame list', async () => {
      const list = await frameList(VIDEO);
      return list && list.etag !== before.etag && list;
    }))!;
    expect(after.times).toEqual([0, 2, 4, 5, 7, 9]);
    const gone = before.times.filter((t) => !after.times.includes(t));
    expect(gone).toEqual([6, 8, 10]);
    await waitFor('the old frames deleted and the new ones indexed', async () => {
      const s = await stats();
      if (s.pending !== 0) return false;
      for (const t of gone) if (await indexed(frameKey(VIDEO, t))) return false;
      for (const t of after.times) if (!(await indexed(frameKey(VIDEO, t)))) return false;
      return s.indexed === STILLS.length + after.times.length + (await clipFrames());
    });
    const grab = await frameAt(ffmpeg!, next, 7.5, path.join(work, 'grab-next.png'));
    const r = await searchBytes(pipeline.base, grab, '', 'image/png');
    expect(r.hits[0]).toMatchObject({ key: VIDEO });
    expect(Math.abs(r.hits[0].t - 7.5)).toBeLessThanOrEqual(INTERVAL);
  });

  it('deletes every frame when the video is deleted, and forgets its frame list', async () => {
    const list = (await frameList(VIDEO))!;
    unlinkSync(path.join(dir, VIDEO));
    await pipeline.discover();
    await waitFor('every frame of the video deleted', async () => {
      for (const t of list.times) if (await indexed(frameKey(VIDEO, t))) return false;
      const s = await stats();
      return s.pending === 0 && s.indexed === STILLS.length + (await clipFrames());
    });
    expect(await frameList(VIDEO)).toBeNull();
  });

  it('deletes the frames of a video that an image replaces, and indexes the image under the key', async () => {
    writeFileSync(path.join(dir, VIDEO), readFileSync(path.join(work, 'slides.mp4')));
    await pipeline.discover();
    const list = (await waitFor('the video cut again', () => frameList(VIDEO)))!;
    writeFileSync(path.join(dir, VIDEO), readFileSync(sample('coffee.jpg')));
    await pipeline.discover();
    await waitFor('the frames deleted and the image indexed', async () => {
      for (const t of list.times) if (await indexed(frameKey(VIDEO, t))) return false;
      const s = await stats();
      return s.pending === 0 && (await indexed(VIDEO)) && s.indexed === STILLS.length + 1 + (await clipFrames());
    });
    expect(await frameList(VIDEO)).toBeNull();
    const r = await searchBytes(pipeline.base, readFileSync(sample('coffee.jpg')));
    expect(r.hits[0]).toMatchObject({ key: VIDEO, distance: 0 });
    expect(r.hits[0]).not.toHaveProperty('t');
  });
});
