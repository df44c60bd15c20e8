import type { FfmpegBinary } from '../video/ffmpeg-binary.ts';
import type { RedisClient } from './redis-connection.ts';
import { IngestKeys } from './redis-keys.ts';

/** The ffmpeg ingest found at its last start for a source (null: none), so `/v1/stats` can say how videos are cut. */
export async function writeFfmpegReport(redis: RedisClient, sourceUrl: string, ffmpeg: FfmpegBinary | null): Promise<void> {
  await redis.set(new IngestKeys().ffmpeg(sourceUrl), JSON.stringify(ffmpeg));
}

/** `<version> (npm|system)`, `none` when ingest found no ffmpeg, `unknown` before ingest reported. */
export async function readFfmpegReport(redis: RedisClient, sourceUrl: string): Promise<string> {
  const raw = await redis.get(new IngestKeys().ffmpeg(sourceUrl));
  if (raw === null) return 'unknown';
  const ffmpeg = JSON.parse(raw) as FfmpegBinary | null;
  return ffmpeg ? `${ffmpeg.version} (${ffmpeg.from})` : 'none';
}
