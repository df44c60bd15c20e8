import { RejectedInputError } from '../image/image-rejected-error.ts';

/**
 * Why a video was not indexed: `video-unsupported` (no ffmpeg here), `video-undecodable` (ffmpeg
 * could not read it: truncated, corrupt, no video stream, too slow), `too-large-bytes` (over
 * LOUPE_VIDEO_MAX_BYTES). Permanent for these bytes on this host: dead-lettered, not retried.
 */
export type VideoRejectReason = 'video-unsupported' | 'video-undecodable' | 'too-large-bytes';

export class VideoRejectedError extends RejectedInputError<VideoRejectReason> {
  override name = 'VideoRejectedError';
}
