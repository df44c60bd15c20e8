import { createHash } from 'node:crypto';
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

export async function loadRobustImageSet(dir = path.join(datasetsDir(), 'robust')): Promise<RobustImageSet> {
  let set;
  try {
    set = await loadPhotoSet(dir);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n(the robust set is made by: npx tsx bench/datasets/robust-images.ts)`);
  }
  const hashes = await Promise.all(set.photos.map((p) => perceptualHash(p.bytes)));
  const duplicated = new Array<boolean>(hashes.length).fill(false);
  for (let i = 0; i < hashes.length; i++) {
    for (let j = i + 1; j < hashes.length; j++) {
      if (hamming(hashes[i], hashes[j]) <= NEAR_DUPLICATE_BITS) duplicated[i] = duplicated[j] = true;
    }
  }
  const roles = set.photos.map((p, i): RobustRole => {
    if (duplicated[i]) return 'reference';
    const u = nameDraw(p.name);
    if (u < UNINDEXED_SHARE) return 'unindexed';
    const split = (u - UNINDEXED_SHARE) / (1 - UNINDEXED_SHARE) < TUNE_SHARE ? 'tune' : 'test';
    return split === 'test' && TUNED_BEFORE.test(p.name) ? 'reference' : split;
  });
  return { dir, photos: set.photos, roles, skipped: set.skipped.length };
}
