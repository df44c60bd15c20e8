import { ImageRejectedError } from '@loupe/shared';

/** Smallest query side searched: below it the CNN sees a few flat pixels and any hit is chance. */
export const MIN_QUERY_SIDE = 8;

/** Refuses a query image narrower or lower than MIN_QUERY_SIDE (a 400 with reason `too-small`). */
export function assertQuerySize(image: { width: number; height: number }): void {
  if (Math.min(image.width, image.height) < MIN_QUERY_SIDE) {
    throw new ImageRejectedError('too-small', `${image.width}x${image.height} is too small to search (at least ${MIN_QUERY_SIDE}x${MIN_QUERY_SIDE} pixels)`);
  }
}
