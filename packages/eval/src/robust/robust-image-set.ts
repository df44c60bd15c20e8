import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hamming } from '../copy-detection/brute-force-index.ts';
import { perceptualHash } from '../copy-detection/perceptual-hash.ts';
import { datasetsDir, loadPhotoSet, type Photo } from '../copy-detection/photo-set.ts';

/**
 * What an image of the robust set is for. Roles come from a hash of the file name alone, so they
 * do not move when the set or the model changes:
 *  - `unindexed` (~12%): never indexed; sources of the non-copy queries and backgrounds that copies
 *    are pasted into;
 *  - `tune` / `test` (~40 / 60% of the rest): indexed, and sources of that split's copy queries;
 *  - `reference`: indexed, never queried: images with a near-duplicate in the set (a copy of one
 *    has no single right answer), and the photos the query plan was tuned on before this benchmark
 *    existed (the copy-detection benchmark's), which may only serve the tuning split.
 */
export type RobustRole = 'unindexed' | 'tune' | 'test' | 'reference';

export interface RobustImageSet {
  dir: string;
  photos: Photo[];
  roles: RobustRole[];
  skipped: number;
}

/** 64-bit pHash distance at or below which two images count as near-duplicates. */
const NEAR_DUPLICATE_BITS = 10;
const UNINDEXED_SHARE = 0.12;
const TUNE_SHARE = 0.4;
/** The copy-detection benchmark's photos (`photos/`), which its query plan was tuned on. */
const TUNED_BEFORE = /^(cv-opencv-doc_examples_data_|sk-.*skimage_data_)/;

/** A number in [0, 1) from a name: the role draw. */
export function nameDraw(name: string, salt = 'robust-role'): number {
  return createHash('sha256').update(`${salt}/${name}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** What loading the set computes per file (decode checks, size, pHash): kept beside the descriptors. */
interface ManifestEntry {
  name: string;
  bytes: number;
  width: number;
  height: number;
  phash: string;
}

/**
 * The robust set's images with their roles. Decoding 3,000 images to check them and hash them
 * takes minutes, so what it finds is kept in `cacheDir` (robust-manifest.json) and reused while
 * every file keeps its name and size.
 */
export async function loadRobustImageSet(dir = path.join(datasetsDir(), 'robust'), cacheDir?: string): Promise<RobustImageSet> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => !/\.(txt|md)$/i.test(f)).sort();
  if (names.length < 2) throw new Error(`no images at ${dir}: the robust set is made by npx tsx bench/datasets/robust-images.ts`);
  const manifestFile = cacheDir && path.join(cacheDir, 'robust-manifest.json');
  const cached: ManifestEntry[] | undefined = manifestFile ? await readFile(manifestFile, 'utf8').then(JSON.parse, () => undefined) : undefined;
  const byName = new Map(cached?.map((e) => [e.name, e]));
  const files = await Promise.all(names.map(async (name) => ({ name, bytes: await readFile(path.join(dir, name)) })));
  let photos: Photo[];
  let hashes: Uint8Array[];
  let skipped: number;
  if (cached && files.every((f) => byName.get(f.name)?.bytes === f.bytes.length || !byName.has(f.name)) && cached.every((e) => names.includes(e.name))) {
    const kept = files.filter((f) => byName.has(f.name));
    photos = kept.map((f) => ({ name: f.name, bytes: f.bytes, width: byName.get(f.name)!.width, height: byName.get(f.name)!.height }));
    hashes = kept.map((f) => Buffer.from(byName.get(f.name)!.phash, 'hex'));
    skipped = files.length - kept.length;
  } else {
    const set = await loadPhotoSet(dir);
    photos = set.photos;
    hashes = await Promise.all(photos.map((p) => perceptualHash(p.bytes)));
    skipped = set.skipped.length;
    if (manifestFile) {
      await mkdir(path.dirname(manifestFile), { recursive: true });
      const manifest: ManifestEntry[] = photos.map((p, i) => ({ name: p.name, bytes: p.bytes.length, width: p.width, height: p.height, phash: Buffer.from(hashes[i]).toString('hex') }));
      await writeFile(manifestFile, JSON.stringify(manifest));
    }
  }
  const duplicated = new Array<boolean>(hashes.length).fill(false);
  for (let i = 0; i < hashes.length; i++) {
    for (let j = i + 1; j < hashes.length; j++) {
      if (hamming(hashes[i], hashes[j]) <= NEAR_DUPLICATE_BITS) duplicated[i] = duplicated[j] = true;
    }
  }
  const roles = photos.map((p, i): RobustRole => {
    if (duplicated[i]) return 'reference';
    const u = nameDraw(p.name);
    if (u < UNINDEXED_SHARE) return 'unindexed';
    const split = (u - UNINDEXED_SHARE) / (1 - UNINDEXED_SHARE) < TUNE_SHARE ? 'tune' : 'test';
    return split === 'test' && TUNED_BEFORE.test(p.name) ? 'reference' : split;
  });
  return { dir, photos, roles, skipped };
}
