import sharp from 'sharp';

/**
 * The canonical raster: what travels from ingest (and the query service) to the encoder. The
 * oriented, sRGB, alpha-flattened image squashed to CANONICAL_SIDE x CANONICAL_SIDE and stored as
 * high-quality JPEG: small enough for a queue payload, and deterministic, so an image indexed by
 * ingest and the same bytes sent as a query produce bit-identical codes.
 */
export const CANONICAL_SIDE = 448;
const CANONICAL_JPEG = { quality: 92, chromaSubsampling: '4:4:4', mozjpeg: false } as const;

export interface RgbRaster {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Canonical JPEG bytes from an already oriented/flattened sharp pipeline. */
export async function toCanonical(pipeline: sharp.Sharp): Promise<Buffer> {
  return pipeline
    .resize(CANONICAL_SIDE, CANONICAL_SIDE, { fit: 'fill', kernel: 'lanczos3' })
    .jpeg(CANONICAL_JPEG)
    .toBuffer();
}

/** Decodes a canonical raster (bytes or base64) to packed RGB. */
export async function decodeCanonical(image: Buffer | string): Promise<RgbRaster> {
  const buf = typeof image === 'string' ? Buffer.from(image, 'base64') : image;
  const { data, info } = await sharp(buf).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`canonical raster has ${info.channels} channels, expected 3`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}
