import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SeededRandom } from '@loupe/shared';

export interface PoolImage {
  file: string;
  body: Buffer;
  type: string;
}

const TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp' };

/**
 * `count` distinct real images, drawn at random from the robust benchmark's set (photos, drawings,
 * screenshots from Debian packages): the bucket's content for a chaos run. Quality is not measured
 * here, so any real image does.
 */
export function loadImagePool(count: number, random: SeededRandom): PoolImage[] {
  const datasets = process.env.LOUPE_DATASETS ?? path.join(os.homedir(), '.cache/loupe-datasets');
  const dir = path.join(datasets, 'robust');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => TYPES[path.extname(f).toLowerCase()]).sort();
  } catch {
    files = [];
  }
  if (files.length < count) {
    throw new Error(`the chaos run needs ${count} images in ${dir} (found ${files.length}): run ../shared/datasets/fetch.sh, then npx tsx bench/datasets/robust-images.ts`);
  }
  const picked: PoolImage[] = [];
  const taken = new Set<number>();
  while (picked.length < count) {
    const i = random.below(files.length);
    if (taken.has(i)) continue;
    taken.add(i);
    const file = path.join(dir, files[i]);
    picked.push({ file, body: readFileSync(file), type: TYPES[path.extname(file).toLowerCase()] });
  }
  return picked;
}
