import { ImageRejectedError, prepareImage, type ImageLimits, type PreparedImage, type ViewPlan } from '@loupe/shared';
import type { ImageSource } from './training-set.service.ts';

/** A sampled key fetched and decoded as ingest does it, or why it was skipped. */
export type FetchedImage = { key: string; bytes: Buffer; prepared: PreparedImage } | { key: string; skipped: string };

/**
 * Fetches and prepares one sampled key. A refused image (corrupt, too big, unsupported) or an
 * object deleted since listing is a skip with its reason: training goes on without it. Anything
 * else (S3 down, a bug) is thrown.
 */
export async function fetchPrepared(source: ImageSource, key: string, limits: ImageLimits, plan: ViewPlan): Promise<FetchedImage> {
  try {
    const bytes = await source.get(key, { maxBytes: limits.maxBytes });
    return { key, bytes, prepared: await prepareImage(bytes, limits, plan) };
  } catch (e) {
    if (!(e instanceof ImageRejectedError) && !(e instanceof Error && e.name === 'ObjectGoneError')) throw e;
    return { key, skipped: e.message };
  }
}
