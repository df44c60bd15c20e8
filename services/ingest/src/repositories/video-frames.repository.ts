import { IngestKeys, type RedisClient } from '@loupe/shared';

/** The keyframes queued for one video version: their times in seconds (frame-key.ts names them). */
export interface VideoFrames {
  etag: string;
  version?: number;
  times: number[];
}

const SET_UNLESS_NEWER = `
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then
  local v = cjson.decode(held).version
  if v and tonumber(v) > tonumber(ARGV[3]) then return held end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return false`;

/**
 * The frame list of every video of a source (a Redis hash beside the `seen` hash: video key ->
 * JSON VideoFrames), so a new version or a delete reaches frames queued before a restart.
 */
export class VideoFramesRepository {
  private readonly hashKey: string;

  constructor(
    private readonly redis: RedisClient,
    sourceUrl: string,
    keys = new IngestKeys(),
  ) {
    this.hashKey = keys.videoFrames(sourceUrl);
  }

  async get(key: string): Promise<VideoFrames | null> {
    const v = await this.redis.hget(this.hashKey, key);
    return v === null ? null : (JSON.parse(v) as VideoFrames);
  }

  /**
   * Stores the frame list of a version unless a newer version's is there (two versions of a video
   * cut at once): then returns that one, whose version decides which frames stay.
   */
  async setUnlessNewer(key: string, frames: VideoFrames): Promise<VideoFrames | null> {
    const held = (await this.redis.eval(SET_UNLESS_NEWER, 1, this.hashKey, key, JSON.stringify(frames), String(frames.version ?? 0))) as string | null;
    return held === null ? null : (JSON.parse(held) as VideoFrames);
  }

  async forget(key: string): Promise<void> {
    await this.redis.hdel(this.hashKey, key);
  }
}
