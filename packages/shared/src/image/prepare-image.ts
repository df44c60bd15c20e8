import sharp from 'sharp';
import { DEFAULT_VIEW_PLAN, planViews, type View, type ViewPlan } from '../view/view-plan.ts';
import { toCanonical } from './canonical-image.ts';
import { sniffUndecodableFormat } from './format-sniffer.ts';
import { ImageRejectedError } from './image-rejected-error.ts';

export interface ImageLimits {
  /** Largest input in bytes (checked before anything is decoded). */
  maxBytes: number;
  /** Largest image in pixels, width * height of the (first) frame. */
  maxPixels: number;
}

export interface PreparedImage {
  /** Size after EXIF orientation; view boxes are in these pixels. */
  width: number;
  height: number;
  /** Canonical raster (CANONICAL_SIDE square JPEG, sRGB, 3 channels). */
  canonical: Buffer;
  views: View[];
  /** Container format as sharp names it: jpeg, png, webp, gif, tiff, heif (AVIF). */
  format: string;
}

/**
 * Formats Loupe indexes. SVG is decodable but refused: it is a drawing, not a photograph, and
 * rendering untrusted XML is a needless risk. `raw` needs out-of-band dimensions.
 */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

/**
 * Decoder options. failOn 'error' (stricter than 'truncated'): truncated files and decode
 * errors are refused, while libjpeg/libpng *warnings* (extraneous bytes, bad ancillary chunks),
 * common in real photos that browsers show fine, are tolerated. pages: 1 = first frame only.
 */
function decoder(bytes: Buffer, limits: ImageLimits): sharp.Sharp {
  return sharp(bytes, { failOn: 'error', limitInputPixels: limits.maxPixels, pages: 1, page: 0 });
}

/**
 * Validates and decodes one image and builds what the encoder needs: the oriented size, the
 * canonical raster and the view boxes. Deterministic: the same bytes always give the same
 * canonical bytes, so ingest and the query service encode identical pixels.
 * Throws ImageRejectedError for any bad input; other errors are bugs or resource failures.
 */
export async function prepareImage(
  bytes: Buffer,
  limits: ImageLimits,
  plan: ViewPlan = DEFAULT_VIEW_PLAN,
): Promise<PreparedImage> {
  if (bytes.length === 0) throw new ImageRejectedError('empty', 'the input is empty (0 bytes)');
  if (bytes.length > limits.maxBytes) {
    throw new ImageRejectedError('too-large-bytes', `${bytes.length} bytes is over the limit of ${limits.maxBytes}`);
  }
  const undecodable = sniffUndecodableFormat(bytes);
  if (undecodable) throw new ImageRejectedError('unsupported-format', `${undecodable} images are not supported`);

  let meta: sharp.Metadata;
  try {
    meta = await decoder(bytes, limits).metadata();
  } catch (e) {
    throw classifyDecodeError(e);
  }
  if (!meta.format || !ACCEPTED_FORMATS.has(meta.format)) {
    throw new ImageRejectedError('unsupported-format', `${meta.format ?? 'unknown'} images are not supported`);
  }
  // Header-only check: a 100000x100000 "bomb" is refused before a single pixel is decoded.
  const { width, height } = meta.autoOrient ?? { width: meta.width, height: meta.height };
  if (!width || !height) throw new ImageRejectedError('corrupt', 'the image header has no dimensions');
  if (width * height > limits.maxPixels) {
    throw new ImageRejectedError('too-many-pixels', `${width}x${height} is over the limit of ${limits.maxPixels} pixels`);
  }

  let canonical: Buffer;
  try {
    // rotate(): EXIF orientation; flatten: alpha onto white (no-op without alpha);
    // srgb: CMYK (embedded or built-in profile), grayscale and 16-bit all become 8-bit RGB.
    canonical = await toCanonical(
      decoder(bytes, limits).rotate().flatten({ background: '#ffffff' }).toColourspace('srgb'),
    );
  } catch (e) {
    throw classifyDecodeError(e);
  }
  return { width, height, canonical, views: planViews(plan, width, height), format: meta.format };
}

/** Maps a sharp/libvips failure to a reject reason with a short human message. */
function classifyDecodeError(e: unknown): ImageRejectedError {
  const raw = e instanceof Error ? e.message : String(e);
  const message = raw.split('\n')[0].trim().slice(0, 200);
  if (/unsupported image format/i.test(raw)) {
    return new ImageRejectedError('not-an-image', 'the bytes are not in any known image format');
  }
  if (/pixel limit/i.test(raw)) return new ImageRejectedError('too-many-pixels', message);
  if (/buffer is empty/i.test(raw)) return new ImageRejectedError('empty', 'the input is empty (0 bytes)');
  if (/heif/i.test(raw) && /unsupported (codec|feature)/i.test(raw)) {
    return new ImageRejectedError('unsupported-format', message);
  }
  return new ImageRejectedError('corrupt', message);
}
