import { decodeCanonical } from '../../image/canonical-image.ts';
import { prepareImage, type ImageLimits } from '../../image/prepare-image.ts';
import { greyThumbnailBytes } from './dct-hash.ts';

/**
 * The grey thumbnail of an original image, made as the encoder makes a pixel level's (from the
 * canonical raster), so a thumbnail read from the bucket equals one the index would have stored.
 */
export async function sourceThumbnail(bytes: Buffer, limits: ImageLimits, side: number): Promise<Uint8Array> {
  return greyThumbnailBytes(await decodeCanonical((await prepareImage(bytes, limits)).canonical), side);
}
