import type { Queue } from 'bullmq';
import { objectJobId, type EncodeJob, type IngestJob, type PreparedImage } from '@loupe/shared';

/**
 * Queues a prepared image for the encoder under `key` (an image's own key, or a video keyframe's),
 * with the etag, generation and object version of the ingest job it came from; one job id per
 * version, so a job run twice queues it once.
 */
export async function queueEncode(
  encodeQueue: Queue,
  key: string,
  from: Pick<IngestJob & { op: 'upsert' }, 'etag' | 'generation' | 'version'>,
  image: PreparedImage,
  /** The object's file size, for the duplicate groups (an image's; none for a video's keyframes). */
  bytes?: number,
): Promise<void> {
  const { etag, generation, version } = from;
  const encode: EncodeJob = {
    key,
    etag,
    width: image.width,
    height: image.height,
    image: image.canonical.toString('base64'),
    views: image.views,
    ...(bytes !== undefined ? { bytes } : {}),
    ...(generation ? { generation } : {}),
    ...(version !== undefined ? { version } : {}),
  };
  await encodeQueue.add('encode', encode, { jobId: objectJobId(generation ? `encode@${generation}` : 'encode', key, etag, version) });
}
