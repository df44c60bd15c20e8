import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { prepareImage, type EncodeInput } from '@loupe/shared';

/** The data sets script's folder (../shared/datasets/fetch.sh), or LOUPE_DATASETS. */
export const DATASETS = process.env.LOUPE_DATASETS ?? path.join(os.homedir(), '.cache/loupe-datasets');
export const PHOTOS_DIR = path.join(DATASETS, 'photos');

export interface BenchPhoto {
  name: string;
  bytes: Buffer;
}

const LIMITS = { maxBytes: 2 ** 31, maxPixels: 2 ** 31 };

/** What ingest does (prepareImage: orient, flatten alpha, sRGB, canonical JPEG); the encoder decodes it. */
export async function toEncodeInput(p: BenchPhoto): Promise<EncodeInput> {
  const { canonical, width, height } = await prepareImage(p.bytes, LIMITS);
  return { image: canonical, width, height };
}

/** A real photo resampled to about `megapixels` (0: as it is) and re-encoded as JPEG q90, like a camera upload. */
export async function atMegapixels(bytes: Buffer, megapixels: number): Promise<Buffer> {
  if (!(megapixels > 0)) return bytes;
  const m = await sharp(bytes).rotate().metadata();
  const scale = Math.sqrt((megapixels * 1e6) / (m.width! * m.height!));
  return sharp(bytes).rotate().resize(Math.round(m.width! * scale), Math.round(m.height! * scale)).jpeg({ quality: 90 }).toBuffer();
}

/** Up to `wanted` decodable photos of the data set, in name order, at `megapixels`. */
export async function loadBenchPhotos(wanted: number, megapixels: number): Promise<BenchPhoto[]> {
  const names = (await readdir(PHOTOS_DIR)).filter((f) => /\.(jpe?g|png|tiff?|webp)$/i.test(f)).sort();
  const out: BenchPhoto[] = [];
  for (const name of names) {
    if (out.length >= wanted) break;
    try {
      const p = { name, bytes: await atMegapixels(await readFile(path.join(PHOTOS_DIR, name)), megapixels) };
      await toEncodeInput(p);
      out.push(p);
    } catch {
      /* truncated / unreadable samples are not throughput material */
    }
  }
  if (out.length === 0) throw new Error(`no photos in ${PHOTOS_DIR}: run ../shared/datasets/fetch.sh first`);
  return out;
}
