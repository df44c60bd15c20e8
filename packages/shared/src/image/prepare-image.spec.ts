import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeEdgeImages, type EdgeImage } from '../../../../test/support/edge-images.ts';
import { REPO_ROOT } from '../config/config.ts';
import { DEFAULT_VIEW_PLAN, viewCount } from '../view/view-plan.ts';
import { CANONICAL_SIDE, decodeCanonical, type RgbRaster } from './canonical-image.ts';
import { ImageRejectedError, type ImageRejectReason } from './image-rejected-error.ts';
import { prepareImage } from './prepare-image.ts';

const LIMITS = { maxBytes: 50 * 1024 * 1024, maxPixels: 100_000_000 };
const BAD_DIR = path.join(REPO_ROOT, 'test/fixtures/bad-images');
const SAMPLES = path.join(REPO_ROOT, 'samples');

/** Every committed bad file and the reason it must be refused with. */
const EXPECTED: Record<string, ImageRejectReason> = {
  'empty.jpg': 'empty',
  'text.jpg': 'not-an-image',
  'random.png': 'not-an-image',
  'pixel-bomb.png': 'too-many-pixels',
  'truncated-header.jpg': 'corrupt',
  'truncated-body.jpg': 'corrupt',
  'tiny.bmp': 'unsupported-format',
  'drawing.svg': 'unsupported-format',
};

async function rejection(p: Promise<unknown>): Promise<ImageRejectedError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImageRejectedError);
    return e as ImageRejectedError;
  }
  throw new Error('expected the image to be rejected');
}

function pixel(r: RgbRaster, fx: number, fy: number): [number, number, number] {
  const x = Math.min(r.width - 1, Math.floor(fx * r.width));
  const y = Math.min(r.height - 1, Math.floor(fy * r.height));
  const i = (y * r.width + x) * 3;
  return [r.data[i], r.data[i + 1], r.data[i + 2]];
}

function meanAbsDiff(a: RgbRaster, b: RgbRaster): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

function near(actual: number[], expected: number[], tol = 12): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]), `${actual} vs ${expected}`).toBeLessThanOrEqual(tol));
}

describe('prepareImage: bad-image corpus', () => {
  it('has an expectation for every file in the folder', () => {
    const files = readdirSync(BAD_DIR).filter((f) => !/\.(md|ts)$/.test(f));
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [file, reason] of Object.entries(EXPECTED)) {
    it(`refuses ${file} as ${reason}`, async () => {
      const e = await rejection(prepareImage(readFileSync(path.join(BAD_DIR, file)), LIMITS));
      expect(e.reason).toBe(reason);
      expect(e.message.length).toBeGreaterThan(5);
      expect(e.describe()).toBe(`${reason}: ${e.message}`);
    });
  }

  it('checks the byte limit before decoding', async () => {
    const bytes = readFileSync(path.join(SAMPLES, 'baboon.jpg'));
    const e = await rejection(prepareImage(bytes, { ...LIMITS, maxBytes: bytes.length - 1 }));
    expect(e.reason).toBe('too-large-bytes');
    await expect(prepareImage(bytes, { ...LIMITS, maxBytes: bytes.length })).resolves.toBeTruthy();
    // Even garbage is refused for its size first: nothing is parsed.
    const big = await rejection(prepareImage(Buffer.alloc(2048, 7), { ...LIMITS, maxBytes: 1024 }));
    expect(big.reason).toBe('too-large-bytes');
  });

  it('applies the pixel limit exactly', async () => {
    const bytes = readFileSync(path.join(SAMPLES, 'baboon.jpg')); // 512x512
    const e = await rejection(prepareImage(bytes, { ...LIMITS, maxPixels: 512 * 512 - 1 }));
    expect(e.reason).toBe('too-many-pixels');
    await expect(prepareImage(bytes, { ...LIMITS, maxPixels: 512 * 512 })).resolves.toBeTruthy();
  });
});

describe('prepareImage: valid edge cases', () => {
  let edge: Record<string, EdgeImage>;
  let photo: RgbRaster;
  beforeAll(async () => {
    const bytes = readFileSync(path.join(SAMPLES, 'baboon.jpg'));
    edge = await makeEdgeImages(bytes);
    photo = await decodeCanonical((await prepareImage(bytes, LIMITS)).canonical);
  });

  async function prepared(name: string): Promise<{ raster: RgbRaster; width: number; height: number }> {
    const e = edge[name];
    const p = await prepareImage(e.bytes, LIMITS);
    expect([p.width, p.height], e.what).toEqual([e.width, e.height]);
    expect(p.views).toHaveLength(viewCount(DEFAULT_VIEW_PLAN));
    for (const v of p.views) {
      expect(v.box.x + v.box.w).toBeLessThanOrEqual(p.width);
      expect(v.box.y + v.box.h).toBeLessThanOrEqual(p.height);
    }
    const raster = await decodeCanonical(p.canonical);
    expect([raster.width, raster.height]).toEqual([CANONICAL_SIDE, CANONICAL_SIDE]);
    expect(raster.data.length).toBe(CANONICAL_SIDE * CANONICAL_SIDE * 3);
    return { raster, width: p.width, height: p.height };
  }

  it('applies EXIF orientation (dimensions swapped, content rotated)', async () => {
    const { raster } = await prepared('exifRotated');
    near(pixel(raster, 0.5, 0.2), [255, 0, 0], 40); // stored left (red) is shown on top
    near(pixel(raster, 0.5, 0.8), [0, 0, 255], 40);
  });

  it('flattens alpha onto white', async () => {
    const { raster } = await prepared('rgba');
    near(pixel(raster, 0.2, 0.5), [255, 255, 255]);
    near(pixel(raster, 0.8, 0.5), [0, 0, 255], 40);
    const ga = await prepared('grayAlpha');
    near(pixel(ga.raster, 0.2, 0.5), [40, 40, 40]);
    near(pixel(ga.raster, 0.8, 0.5), [255, 255, 255]);
  });

  it('expands grayscale to three equal channels', async () => {
    const { raster } = await prepared('grayscale');
    near(pixel(raster, 0.2, 0.5), [40, 40, 40], 3);
    near(pixel(raster, 0.8, 0.5), [200, 200, 200], 3);
  });

  it('converts CMYK to sRGB close to the original photo', async () => {
    const { raster } = await prepared('cmyk');
    // Round trip through the built-in CMYK profile is lossy (gamut), but not wildly off.
    expect(meanAbsDiff(raster, photo)).toBeLessThan(20);
  });

  it('reduces 16-bit to 8-bit without losing the image', async () => {
    const { raster } = await prepared('rgb16');
    expect(meanAbsDiff(raster, photo)).toBeLessThan(3);
  });

  it('takes the first frame of animated GIF and WebP', async () => {
    for (const name of ['animatedGif', 'animatedWebp']) {
      const { raster } = await prepared(name);
      near(pixel(raster, 0.5, 0.5), [255, 0, 0], 30);
    }
  });

  it('handles a 1x1 image', async () => {
    const { raster } = await prepared('onePixel');
    near(pixel(raster, 0.5, 0.5), [0, 255, 0], 10);
  });

  it('is deterministic: same bytes, same canonical bytes, also when run concurrently', async () => {
    const inputs = [
      ...Object.values(edge).map((e) => e.bytes),
      ...['astronaut.jpg', 'coins.jpg', 'graffiti.jpg'].map((f) => readFileSync(path.join(SAMPLES, f))),
    ];
    for (const bytes of inputs) {
      const runs = await Promise.all([1, 2, 3].map(() => prepareImage(bytes, LIMITS)));
      expect(runs[1].canonical.equals(runs[0].canonical)).toBe(true);
      expect(runs[2].canonical.equals(runs[0].canonical)).toBe(true);
      expect(runs[1].views).toEqual(runs[0].views);
    }
  });

  it('prepares every bundled sample', async () => {
    const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.jpg'));
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const f of files) {
      const p = await prepareImage(readFileSync(path.join(SAMPLES, f)), LIMITS);
      expect(p.format).toBe('jpeg');
      const r = await decodeCanonical(p.canonical);
      expect(r.width).toBe(CANONICAL_SIDE);
    }
  });
});
