import sharp from 'sharp';

/**
 * Valid but awkward images, generated with sharp at test time (no binary fixtures to keep in
 * sync). Each has a simple colour layout so a test can check the canonical raster's pixels.
 */
export interface EdgeImage {
  bytes: Buffer;
  /** Expected size after EXIF orientation. */
  width: number;
  height: number;
  what: string;
}

const RED = { r: 255, g: 0, b: 0 };
const BLUE = { r: 0, g: 0, b: 255 };
const GREEN = { r: 0, g: 255, b: 0 };

/** w x h image: left half `left`, right half `right` (raw RGB or RGBA). */
function halves(w: number, h: number, left: number[], right: number[]): Buffer {
  const ch = left.length;
  const data = Buffer.alloc(w * h * ch);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) data.set(x < w / 2 ? left : right, (y * w + x) * ch);
  return data;
}

function solid(width: number, height: number, background: { r: number; g: number; b: number }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();
}

export async function makeEdgeImages(photo: Buffer): Promise<Record<string, EdgeImage>> {
  const rb = halves(120, 80, [255, 0, 0], [0, 0, 255]);
  const frames = [await solid(40, 30, RED), await solid(40, 30, BLUE), await solid(40, 30, GREEN)];
  const photoMeta = await sharp(photo).metadata();
  return {
    exifRotated: {
      // Stored 120x80, left red / right blue, orientation 6 (display rotated 90 deg clockwise):
      // shown 80x120 with red on top.
      bytes: await sharp(rb, { raw: { width: 120, height: 80, channels: 3 } })
        .jpeg({ quality: 95 })
        .withMetadata({ orientation: 6 })
        .toBuffer(),
      width: 80,
      height: 120,
      what: 'JPEG with EXIF orientation 6',
    },
    rgba: {
      // Left half fully transparent (flattens to white), right half opaque blue.
      bytes: await sharp(halves(64, 64, [0, 0, 0, 0], [0, 0, 255, 255]), { raw: { width: 64, height: 64, channels: 4 } })
        .png()
        .toBuffer(),
      width: 64,
      height: 64,
      what: 'RGBA PNG, half transparent',
    },
    grayscale: {
      bytes: await sharp(halves(64, 64, [40], [200]), { raw: { width: 64, height: 64, channels: 1 } }).png().toBuffer(),
      width: 64,
      height: 64,
      what: '1-channel grayscale PNG',
    },
    grayAlpha: {
      bytes: await sharp(halves(64, 64, [40, 255], [200, 0]), { raw: { width: 64, height: 64, channels: 2 } })
        .png()
        .toBuffer(),
      width: 64,
      height: 64,
      what: 'grayscale + alpha PNG',
    },
    cmyk: {
      bytes: await sharp(photo).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(),
      width: photoMeta.width!,
      height: photoMeta.height!,
      what: 'CMYK JPEG without ICC profile (made from a real photo)',
    },
    rgb16: {
      bytes: await sharp(photo).toColourspace('rgb16').png().toBuffer(),
      width: photoMeta.width!,
      height: photoMeta.height!,
      what: '16-bit RGB PNG (made from a real photo)',
    },
    animatedGif: {
      bytes: await sharp(frames, { join: { animated: true } }).gif({ delay: 100, loop: 0 }).toBuffer(),
      width: 40,
      height: 30,
      what: 'animated GIF, frames red / blue / green',
    },
    animatedWebp: {
      bytes: await sharp(frames, { join: { animated: true } }).webp({ delay: 100, loop: 0, lossless: true }).toBuffer(),
      width: 40,
      height: 30,
      what: 'animated WebP, frames red / blue / green',
    },
    onePixel: {
      bytes: await solid(1, 1, GREEN),
      width: 1,
      height: 1,
      what: '1x1 PNG',
    },
  };
}
