import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ImageRejectedError, prepareImage, type ImageLimits } from '@loupe/shared';

export interface Photo {
  name: string;
  bytes: Buffer;
  /** Oriented size. */
  width: number;
  height: number;
}

export interface PhotoSet {
  dir: string;
  photos: Photo[];
  /** Files the pipeline refuses (e.g. a truncated JPEG), with the reason. */
  skipped: { name: string; reason: string }[];
}

/** Where fetch.sh puts the data sets: $LOUPE_DATASETS or ~/.cache/loupe-datasets. */
export function datasetsDir(): string {
  return process.env.LOUPE_DATASETS ?? path.join(os.homedir(), '.cache/loupe-datasets');
}

const LIMITS: ImageLimits = { maxBytes: 50 * 1024 * 1024, maxPixels: 100_000_000 };

/** Every image of `dir` that the ingest path accepts, sorted by name. */
export async function loadPhotoSet(dir = path.join(datasetsDir(), 'photos')): Promise<PhotoSet> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => !/\.(txt|md)$/i.test(f)).sort();
  } catch {
    throw new Error(`no photos at ${dir}: run ../shared/datasets/fetch.sh (or set LOUPE_DATASETS)`);
  }
  const photos: Photo[] = [];
  const skipped: PhotoSet['skipped'] = [];
  for (const name of names) {
    const bytes = await readFile(path.join(dir, name));
    try {
      const p = await prepareImage(bytes, LIMITS);
      photos.push({ name, bytes, width: p.width, height: p.height });
    } catch (e) {
      if (!(e instanceof ImageRejectedError)) throw e;
      skipped.push({ name, reason: e.message });
    }
  }
  if (photos.length < 2) throw new Error(`only ${photos.length} decodable photos in ${dir}`);
  return { dir, photos, skipped };
}

export { LIMITS as EVAL_IMAGE_LIMITS };
