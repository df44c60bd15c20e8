import sharp from 'sharp';
import { SeededRandom, type Box } from '@loupe/shared';

/** An oriented, alpha-flattened sRGB source image as packed RGB (what a copier starts from). */
export interface SourceRaster {
  data: Buffer;
  width: number;
  height: number;
}

export interface TransformedCopy {
  bytes: Buffer;
  /** For crops: the copied part, in source pixels. */
  box?: Box;
}

export interface CopyTransform {
  name: string;
  /** Queries generated per source image (crops come in several positions). */
  variants: number;
  apply(src: SourceRaster, rng: SeededRandom): Promise<TransformedCopy>;
}

/** What most copies are saved as. */
const JPEG = { quality: 90 } as const;

function raw(src: SourceRaster): sharp.Sharp {
  return sharp(src.data, { raw: { width: src.width, height: src.height, channels: 3 } });
}

function jpeg(img: sharp.Sharp, quality: number = JPEG.quality): Promise<Buffer> {
  return img.jpeg({ quality }).toBuffer();
}

function randomColour(rng: SeededRandom): { r: number; g: number; b: number } {
  return { r: rng.int(0, 255), g: rng.int(0, 255), b: rng.int(0, 255) };
}

/**
 * A crop holding `area` of the source's pixels, aspect ratio within 1.5x of the source's, at a
 * uniformly random position.
 */
function crop(area: number): CopyTransform['apply'] {
  return async (src, rng) => {
    const { width: W, height: H } = src;
    const r = Math.exp(rng.uniform(-Math.log(1.5), Math.log(1.5)));
    let w = Math.min(W, Math.max(1, Math.round(W * Math.sqrt(area * r))));
    const h = Math.min(H, Math.max(1, Math.round((area * W * H) / w)));
    w = Math.min(W, Math.max(1, Math.round((area * W * H) / h)));
    const box = { x: rng.int(0, W - w), y: rng.int(0, H - h), w, h };
    return { bytes: await jpeg(raw(src).extract({ left: box.x, top: box.y, width: w, height: h })), box };
  };
}

const WORDS = ['COPY', 'sale', 'Loupe', 'hello', '2026', 'meme', 'SAMPLE', 'photo', 'wow', 'news', 'do not share', 'lol'];

function textOverlay(src: SourceRaster, rng: SeededRandom): Buffer {
  const { width: W, height: H } = src;
  const lines = rng.int(1, 2);
  const size = Math.max(8, Math.round(H * rng.uniform(0.08, 0.14)));
  const fill = randomColour(rng);
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) {
    const text = `${rng.pick(WORDS)} ${rng.pick(WORDS)}`;
    const x = Math.round(rng.uniform(0, 0.4) * W);
    const y = Math.round(rng.uniform(0.15, 0.95) * H);
    parts.push(
      `<text x="${x}" y="${y}" font-family="DejaVu Sans, sans-serif" font-weight="bold" font-size="${size}" ` +
        `fill="rgb(${fill.r},${fill.g},${fill.b})" stroke="black" stroke-width="${Math.max(1, size / 24).toFixed(1)}">${text}</text>`,
    );
  }
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join('')}</svg>`);
}

/**
 * The copy-detection transforms, in report order. Each is deterministic given its rng (seeded from
 * the image name, transform and variant), so every run queries with the same bytes.
 */
export const COPY_TRANSFORMS: CopyTransform[] = [
  { name: 'crop-50', variants: 3, apply: crop(0.5) },
  { name: 'crop-25', variants: 3, apply: crop(0.25) },
  { name: 'crop-10', variants: 3, apply: crop(0.1) },
  { name: 'flip', variants: 1, apply: async (src) => ({ bytes: await jpeg(raw(src).flop()) }) },
  { name: 'rotate-90', variants: 1, apply: async (src, rng) => ({ bytes: await jpeg(raw(src).rotate(rng.pick([90, 270]))) }) },
  {
    name: 'rotate-10',
    variants: 1,
    apply: async (src, rng) => {
      const angle = rng.sign() * rng.uniform(5, 10);
      return { bytes: await jpeg(raw(src).rotate(angle, { background: randomColour(rng) })) };
    },
  },
  { name: 'jpeg-20', variants: 1, apply: async (src) => ({ bytes: await jpeg(raw(src), 20) }) },
  {
    name: 'pad',
    variants: 1,
    apply: async (src, rng) => {
      const side = (n: number) => Math.round(n * rng.uniform(0.05, 0.25));
      const { width: W, height: H } = src;
      const extend = { top: side(H), bottom: side(H), left: side(W), right: side(W), background: randomColour(rng) };
      return { bytes: await jpeg(raw(src).extend(extend)) };
    },
  },
  {
    name: 'text',
    variants: 1,
    apply: async (src, rng) => ({ bytes: await jpeg(raw(src).composite([{ input: textOverlay(src, rng), top: 0, left: 0 }])) }),
  },
  { name: 'grayscale', variants: 1, apply: async (src) => ({ bytes: await jpeg(raw(src).grayscale()) }) },
  {
    name: 'contrast',
    variants: 1,
    apply: async (src, rng) => {
      const a = rng.next() < 0.5 ? rng.uniform(0.45, 0.65) : rng.uniform(1.5, 1.8);
      return { bytes: await jpeg(raw(src).linear(a, 128 * (1 - a))) };
    },
  },
  {
    name: 'squash',
    variants: 1,
    apply: async (src, rng) => {
      const s = rng.uniform(0.5, 0.7);
      const wide = rng.next() < 0.5;
      const width = Math.max(1, Math.round(src.width * (wide ? s : 1)));
      const height = Math.max(1, Math.round(src.height * (wide ? 1 : s)));
      return { bytes: await jpeg(raw(src).resize(width, height, { fit: 'fill' })) };
    },
  },
  {
    name: 'blur',
    variants: 1,
    apply: async (src, rng) => {
      // About 2-3 px on a 640-px photo: visibly soft, as a re-shared copy; stronger blurs mostly test
      // how blurry the database's own images are (they then attract every blurred query).
      const sigma = Math.max(0.6, 0.003 * Math.max(src.width, src.height) * rng.uniform(1, 1.5));
      return { bytes: await jpeg(raw(src).blur(sigma)) };
    },
  },
  {
    name: 'brightness',
    variants: 1,
    apply: async (src, rng) => {
      const brightness = rng.next() < 0.5 ? rng.uniform(0.55, 0.7) : rng.uniform(1.3, 1.5);
      return { bytes: await jpeg(raw(src).modulate({ brightness })) };
    },
  },
];

/**
 * What a copy-detection head trains on (`loupe train --method pairs`): crops of 5-60% of the area
 * (log-uniform) at random positions, and the whole-image edits of COPY_TRANSFORMS. Mirrors and
 * quarter turns are left out: the query plan turns a query back before it searches.
 */
export const TRAINING_TRANSFORMS: CopyTransform[] = [
  { name: 'crop', variants: 6, apply: (src, rng) => crop(Math.exp(rng.uniform(Math.log(0.05), Math.log(0.6))))(src, rng) },
  ...COPY_TRANSFORMS.filter((t) => !t.name.startsWith('crop-') && t.name !== 'flip' && t.name !== 'rotate-90'),
];

/** Decodes a source the way prepareImage does (EXIF orientation, alpha on white, sRGB). */
export async function decodeSource(bytes: Buffer): Promise<SourceRaster> {
  const { data, info } = await sharp(bytes, { failOn: 'error', pages: 1 })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
