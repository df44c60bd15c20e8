import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { FfmpegBinary } from './ffmpeg-binary.ts';
import { inputTimes, lastErrorLine, showinfoTime } from './ffmpeg-log.ts';
import { VideoRejectedError } from './video-rejected-error.ts';

export interface VideoLimits {
  /** Largest video in bytes (LOUPE_VIDEO_MAX_BYTES; images keep LOUPE_MAX_BYTES). */
  maxBytes: number;
  /** Keyframes taken at most per video (LOUPE_VIDEO_MAX_FRAMES). */
  maxFrames: number;
  /** A frame at least this often, in seconds since the last one taken (LOUPE_VIDEO_FRAME_INTERVAL_S). */
  frameIntervalS: number;
  /** Only the first this many seconds are read (LOUPE_VIDEO_MAX_SECONDS). */
  maxSeconds: number;
}

export interface Keyframe {
  /** Seconds from the start of the video (its first frame is at 0). */
  t: number;
  /** The frame at the video's size, as a JPEG. */
  image: Buffer;
}

export interface KeyframeCut {
  frames: Keyframe[];
  /** The container's duration in seconds, when it says. */
  duration: number | null;
  /** True when frames after the limits were left out (LOUPE_VIDEO_MAX_SECONDS or LOUPE_VIDEO_MAX_FRAMES reached). */
  truncated: boolean;
}

/** A frame is a scene change when ffmpeg's scene score is over this (0..1: share of the picture that changed). */
const SCENE_THRESHOLD = 0.3;
/** Scene changes closer than this to the last frame taken are passed over (a flash, fast cuts). */
const MIN_SCENE_GAP_S = 0.5;

/**
 * Cuts a video into keyframes with ffmpeg: the first frame, every scene change, and a frame whenever
 * LOUPE_VIDEO_FRAME_INTERVAL_S has passed since the last one taken (ffmpeg's `select` filter; its
 * `showinfo` gives each frame's time). The video goes to a temp file (MP4 and MOV need to seek),
 * frames come back as JPEGs (quality 2) and the folder is removed whatever happens. ffmpeg runs with
 * `-nostdin` and is killed after 60 s plus a second per second of video read.
 */
export class KeyframeExtractor {
  constructor(
    private readonly ffmpeg: FfmpegBinary | null,
    private readonly limits: VideoLimits,
  ) {}

  get timeLimitMs(): number {
    return 60_000 + this.limits.maxSeconds * 1000;
  }

  async extract(bytes: Buffer): Promise<KeyframeCut> {
    if (!this.ffmpeg) throw new VideoRejectedError('video-unsupported', 'no ffmpeg');
    if (bytes.length > this.limits.maxBytes) {
      throw new VideoRejectedError('too-large-bytes', `${bytes.length} bytes is over the video limit of ${this.limits.maxBytes}`);
    }
    return this.inTempDir(bytes, async (input, dir) => {
      const run = await this.run(this.args(input, dir), dir);
      if (run.exit !== 0) throw new VideoRejectedError('video-undecodable', run.error);
      if (run.times.length === 0) throw new VideoRejectedError('video-undecodable', 'no video frame decoded');
      // ffmpeg may have shown one frame more than it wrote when it stopped at -frames:v.
      const frames = await Promise.all(run.times.slice(0, this.limits.maxFrames).map(async (t, i) => ({ t, image: await readFile(path.join(dir, frameFile(i + 1))) })));
      const maxFramesHit = frames.length >= this.limits.maxFrames;
      const cutShort = run.duration !== null && run.duration > this.limits.maxSeconds;
      return { frames, duration: run.duration, truncated: maxFramesHit || cutShort };
    });
  }

  /** The frame of the video at `t` seconds from its start, as a JPEG (a keyframe's thumbnail). */
  async frameAt(bytes: Buffer, t: number): Promise<Buffer> {
    if (!this.ffmpeg) throw new VideoRejectedError('video-unsupported', 'no ffmpeg');
    return this.inTempDir(bytes, async (input, dir) => {
      const out = path.join(dir, frameFile(1));
      const args = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info', '-ss', String(t), '-i', input, '-map', '0:v:0', '-frames:v', '1', '-q:v', '2', '-f', 'image2', out];
      const run = await this.run(args, dir);
      const frame = run.exit === 0 ? await readFile(out).catch(() => null) : null;
      if (!frame) throw new VideoRejectedError('video-undecodable', run.exit === 0 ? `no frame at ${t} s` : run.error);
      return frame;
    });
  }

  /** Runs `work` on the video written to a new temp folder (MP4 and MOV need to seek), removed afterwards whatever happens. */
  private async inTempDir<T>(bytes: Buffer, work: (input: string, dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'loupe-video-'));
    try {
      const input = path.join(dir, 'input');
      await writeFile(input, bytes);
      return await work(input, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private args(input: string, dir: string): string[] {
    const { frameIntervalS, maxFrames, maxSeconds } = this.limits;
    // isnan: the first frame; then scene changes (not within MIN_SCENE_GAP_S of the last frame), and the interval.
    const select =
      `isnan(prev_selected_t)+gte(t-prev_selected_t,${frameIntervalS})` +
      `+gt(scene,${SCENE_THRESHOLD})*gte(t-prev_selected_t,${MIN_SCENE_GAP_S})`;
    return [
      '-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info',
      '-t', String(maxSeconds), '-i', input,
      '-map', '0:v:0', '-vf', `select='${select}',showinfo`,
      '-vsync', 'vfr', '-frames:v', String(maxFrames), '-q:v', '2', '-f', 'image2', path.join(dir, '%06d.jpg'),
    ];
  }

  private run(args: string[], dir: string): Promise<{ exit: number | null; times: number[]; duration: number | null; error: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.ffmpeg!.path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const pts: number[] = [];
      const tail: string[] = [];
      let input: { duration: number | null; start: number } | null = null;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, this.timeLimitMs);
      createInterface({ input: child.stderr }).on('line', (line) => {
        const t = showinfoTime(line);
        if (t !== null) return void pts.push(t);
        input ??= inputTimes(line);
        tail.push(line);
        if (tail.length > 50) tail.shift();
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (exit) => {
        clearTimeout(timer);
        const error = timedOut ? `ffmpeg took longer than ${this.timeLimitMs / 1000} s` : lastErrorLine(tail, `${dir}${path.sep}`);
        const start = input?.start ?? 0;
        const times = pts.map((t) => Math.max(0, t - start));
        resolve({ exit: timedOut ? null : exit, times, duration: input?.duration ?? null, error });
      });
    });
  }
}

function frameFile(n: number): string {
  return `${String(n).padStart(6, '0')}.jpg`;
}
