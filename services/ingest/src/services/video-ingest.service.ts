import type { Queue } from 'bullmq';
import {
  frameKey,
  objectJobId,
  prepareImage,
  type ImageLimits,
  type IndexJob,
  type IngestJob,
  type KeyframeExtractor,
  type Logger,
  type ViewPlan,
} from '@loupe/shared';
import type { VideoFrames, VideoFramesRepository } from '../repositories/video-frames.repository.ts';
import { queueEncode } from './encode-job.ts';

export interface VideoIngestDeps {
  extractor: KeyframeExtractor;
  frames: VideoFramesRepository;
  encodeQueue: Queue;
  indexQueue: Queue;
  /** Limits of each frame as an image (the video's own are the extractor's). */
  limits: ImageLimits;
  plan?: ViewPlan;
  logger: Logger;
}

type Upsert = Extract<IngestJob, { op: 'upsert' }>;

/**
 * Videos: each keyframe becomes an object of its own, `<key>#t=<seconds>`, prepared like an image
 * and queued for the encoder with the video's etag and object version; the frame list kept per
 * video (VideoFramesRepository) lets a new version delete the frames it no longer has, and a
 * delete of the video delete them all. Throws VideoRejectedError (dead-lettered by the caller).
 */
export class VideoIngestService {
  constructor(private readonly deps: VideoIngestDeps) {}

  async ingest(job: Upsert, bytes: Buffer): Promise<{ frames: number }> {
    const { key, etag, version, generation } = job;
    const { extractor, encodeQueue, limits, plan, logger } = this.deps;
    const started = performance.now();
    const cut = await extractor.extract(bytes);
    const times: number[] = [];
    for (const frame of cut.frames) {
      const frameObject = frameKey(key, frame.t);
      if (times.length && frameKey(key, times[times.length - 1]) === frameObject) continue; // same millisecond
      await queueEncode(encodeQueue, frameObject, job, await prepareImage(frame.image, limits, plan));
      times.push(frame.t);
    }
    // A rollout's re-encode (generation) writes the next index only: the frame list is the live one's.
    if (!generation) await this.replaceFrames(key, { etag, ...(version !== undefined ? { version } : {}), times });
    logger.info(
      { event: 'video-cut', key, etag, frames: times.length, duration: cut.duration, truncated: cut.truncated, ms: Math.round(performance.now() - started) },
      'video cut into keyframes',
    );
    return { frames: times.length };
  }

  /**
   * The key is not a video (any more): deletes the frames of an earlier version that was one.
   * `version` orders the deletes after those frames' upserts.
   */
  async dropFrames(key: string, version: number | undefined, jobStamp: string): Promise<number> {
    const held = await this.deps.frames.get(key);
    if (!held) return 0;
    await this.deleteFrames(key, held.times, version, jobStamp);
    await this.deps.frames.forget(key);
    return held.times.length;
  }

  /**
   * Deletes the frames of the previous list that the new version has not, and the video's own key
   * (an image indexed under it before, and its dead letter), then stores the new list: deletes
   * first, so a job run again after a crash finds the same previous list. When a newer version's
   * list is stored meanwhile, it stays, and this version's frames that it has not are deleted.
   */
  private async replaceFrames(key: string, next: VideoFrames): Promise<void> {
    const { frames } = this.deps;
    const stamp = `${next.etag}\u0000${next.version ?? ''}`;
    const previous = await frames.get(key);
    if (!previous || (previous.version ?? 0) <= (next.version ?? 0)) {
      await this.deleteFrames(key, framesNotIn(key, previous?.times ?? [], next.times), next.version, stamp);
      await this.queueDelete(key, next.version, stamp);
    }
    const newer = await frames.setUnlessNewer(key, next);
    if (newer) await this.deleteFrames(key, framesNotIn(key, next.times, newer.times), newer.version, stamp);
  }

  private async deleteFrames(key: string, times: number[], version: number | undefined, stamp: string): Promise<void> {
    for (const t of times) await this.queueDelete(frameKey(key, t), version, stamp);
  }

  private async queueDelete(key: string, version: number | undefined, stamp: string): Promise<void> {
    const del: IndexJob = { op: 'delete', key, ...(version !== undefined ? { version } : {}) };
    await this.deps.indexQueue.add('delete', del, { jobId: objectJobId('index-del', key, stamp) });
  }
}

/** The times of `times` whose frame key is not one of `keep`'s. */
function framesNotIn(key: string, times: number[], keep: number[]): number[] {
  const kept = new Set(keep.map((t) => frameKey(key, t)));
  return times.filter((t) => !kept.has(frameKey(key, t)));
}
