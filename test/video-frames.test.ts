import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  DEFAULT_VIEW_PLAN,
  EncodeJobSchema,
  frameKey,
  IndexJobSchema,
  KeyframeExtractor,
  loadConfig,
  locateFfmpeg,
  REPO_ROOT,
} from '@loupe/shared';
import { VideoFramesRepository } from '../services/ingest/src/repositories/video-frames.repository.ts';
import { VideoIngestService } from '../services/ingest/src/services/video-ingest.service.ts';
import { startRedis, type TestRedis } from './support/redis-server.ts';
import { openQueues, type TestQueues } from './support/test-queues.ts';
import { makeSlideshow } from './support/videos.ts';

const ffmpeg = await locateFfmpeg();
const sample = (f: string) => path.join(REPO_ROOT, 'samples', f);

/** Two versions of one video cut out of order (real Redis, real ffmpeg, the queues without workers). */
describe.skipIf(!ffmpeg)('a video\'s frame list across versions', () => {
  let redis: TestRedis;
  let queues: TestQueues;
  let frames: VideoFramesRepository;
  let video: VideoIngestService;
  let work: string;

  beforeAll(async () => {
    redis = await startRedis();
    queues = openQueues(loadConfig({ REDIS_URL: redis.url }));
    frames = new VideoFramesRepository(queues.connection, 'file:///videos');
    video = new VideoIngestService({
      extractor: new KeyframeExtractor(ffmpeg, { maxBytes: 1e9, maxFrames: 120, frameIntervalS: 2, maxSeconds: 600 }),
      frames,
      encodeQueue: queues.encode,
      indexQueue: queues.index,
      limits: { maxBytes: 50e6, maxPixels: 100e6 },
      plan: DEFAULT_VIEW_PLAN,
      logger: createLogger('test', 'silent'),
    });
    work = mkdtempSync(path.join(os.tmpdir(), 'loupe-frames-'));
    await makeSlideshow(ffmpeg!, ['coffee.jpg', 'rocket.jpg', 'chelsea-cat.jpg'].map(sample), path.join(work, 'a.mp4'), 4);
    await makeSlideshow(ffmpeg!, ['astronaut.jpg', 'leuven.jpg'].map(sample), path.join(work, 'b.mp4'), 5);
  });

  afterAll(async () => {
    await queues?.close();
    await redis?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('keeps the newer version\'s list: stored over an older one, refused under a newer one', async () => {
    expect(await frames.setUnlessNewer('x.mp4', { etag: 'e1', version: 10, times: [0, 5] })).toBeNull();
    expect(await frames.setUnlessNewer('x.mp4', { etag: 'e0', version: 5, times: [0, 1] })).toEqual({ etag: 'e1', version: 10, times: [0, 5] });
    expect(await frames.get('x.mp4')).toEqual({ etag: 'e1', version: 10, times: [0, 5] });
    expect(await frames.setUnlessNewer('x.mp4', { etag: 'e2', version: 20, times: [3] })).toBeNull();
    expect(await frames.get('x.mp4')).toEqual({ etag: 'e2', version: 20, times: [3] });
  });

  it('queues each keyframe for the encoder, and deletes the frames an older version cut after a newer one has not', async () => {
    const key = 'clips/v.mp4';
    const deletes = async () => (await queues.index.getJobs(['waiting'])).map((j) => IndexJobSchema.parse(j.data));
    // The newer version (b: frames at 0, 2, 4, 5, 7, 9) is cut first.
    await video.ingest({ op: 'upsert', key, etag: 'eb', version: 200 }, readFileSync(path.join(work, 'b.mp4')));
    expect(await frames.get(key)).toEqual({ etag: 'eb', version: 200, times: [0, 2, 4, 5, 7, 9] });
    const encoded = (await queues.encode.getJobs(['waiting'])).map((j) => EncodeJobSchema.parse(j.data));
    expect(encoded.map((j) => [j.key, j.etag, j.version, j.width, j.height]).sort()).toEqual(
      [0, 2, 4, 5, 7, 9].map((t) => [frameKey(key, t), 'eb', 200, 480, 270]).sort());
    // The key itself is deleted (an image that was there before), with the video's version.
    expect(await deletes()).toEqual([{ op: 'delete', key, version: 200 }]);

    // The older version (a: 0, 2, 4, 6, 8, 10) finishes later: its list is refused, and its frames
    // the newer one has not are deleted with the newer version, so they cannot stay indexed.
    await video.ingest({ op: 'upsert', key, etag: 'ea', version: 100 }, readFileSync(path.join(work, 'a.mp4')));
    expect(await frames.get(key)).toEqual({ etag: 'eb', version: 200, times: [0, 2, 4, 5, 7, 9] });
    expect((await deletes()).filter((d) => d.key !== key).sort((x, y) => x.key.localeCompare(y.key))).toEqual(
      [6, 8, 10].map((t) => ({ op: 'delete', key: frameKey(key, t), version: 200 })).sort((x, y) => x.key.localeCompare(y.key)));

    // Then the video is deleted: every frame of the list goes, with the delete's version, and the list.
    await queues.index.drain();
    expect(await video.dropFrames(key, 300, 'job-1')).toBe(6);
    expect((await deletes()).map((d) => d.key).sort()).toEqual([0, 2, 4, 5, 7, 9].map((t) => frameKey(key, t)).sort());
    expect((await deletes()).every((d) => d.version === 300)).toBe(true);
    expect(await frames.get(key)).toBeNull();
  });
});
