/**
 * Why a video was not indexed: `video-unsupported` (no ffmpeg here), `video-undecodable` (ffmpeg
 * could not read it: truncated, corrupt, no video stream, too slow), `too-large-bytes` (over
 * LOUPE_VIDEO_MAX_BYTES). Permanent for these bytes on this host: dead-lettered, not retried.
 */
export type VideoRejectReason = 'video-unsupported' | 'video-undecodable' | 'too-large-bytes';

export class VideoRejectedError extends Error {
  constructor(
    readonly reason: VideoRejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'VideoRejectedError';
  }

  /** `reason: message`, the form stored in dead-letter entries. */
  describe(): string {
    return `${this.reason}: ${this.message}`;
  }
}
