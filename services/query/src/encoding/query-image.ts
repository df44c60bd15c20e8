import { ImageRejectedError, prepareImage, type ImageLimits, type ViewPlan } from '@loupe/shared';
import type { CanonicalQuery } from './encoding-protocol.ts';

/** Smallest query side searched: below it the CNN sees a few flat pixels and any hit is chance. */
export const MIN_QUERY_SIDE = 8;

/**
 * A query upload decoded and validated as ingest does (prepareImage), and refused below
 * MIN_QUERY_SIDE (a 400 with reason `too-small`; ingest indexes any size).
 */
export async function prepareQuery(bytes: Buffer, limits: ImageLimits, plan?: ViewPlan): Promise<CanonicalQuery> {
  const { canonical, width, height } = await prepareImage(bytes, limits, plan);
  if (Math.min(width, height) < MIN_QUERY_SIDE) {
    throw new ImageRejectedError('too-small', `${width}x${height} is too small to search (at least ${MIN_QUERY_SIDE}x${MIN_QUERY_SIDE} pixels)`);
  }
  return { canonical, width, height };
}
