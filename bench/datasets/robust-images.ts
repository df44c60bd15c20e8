/**
 * Assembles the robust copy-detection benchmark's images (`loupe eval --robust`) from Debian
 * packages that no shipped model was trained on (the training sources are listed in
 * packages/shared/src/model/builtin/training-sources.ts; this script refuses to overlap them):
 *   opencv-doc (example data and the tutorials' figures), python3-skimage's data, pysiogame's
 *   pictures (art4apps photos and drawings, flash cards), gimp-help-en's figures (photos, filter
 *   examples, screenshots), fotoxx-common's help images and cimg-doc's pictures.
 * A mix of photos, drawings, screenshots and diagrams, as buckets hold.
 *
 *   npx tsx bench/datasets/robust-images.ts [DIR]   (default $LOUPE_DATASETS/robust)
 *
 * Idempotent; prints DIR and the count. Needs apt-get (Debian's package index) and ~250 MB of disk.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { TRAINING_SOURCE_PACKAGES } from '@loupe/shared';

/** Package -> the short prefix its files get in DIR. */
const PACKAGES: Record<string, string> = {
  'opencv-doc': 'cv',
  'python3-skimage': 'sk',
  pysiogame: 'pysio',
  'gimp-help-en': 'gimp',
  'fotoxx-common': 'fotoxx',
  'cimg-doc': 'cimg',
};
const IMAGE = /\.(jpe?g|png|webp)$/i;
/** Smaller pictures are icons and buttons, not what a copy-detection index is for. */
const MIN_SIDE = 200;

const overlap = Object.keys(PACKAGES).filter((p) => TRAINING_SOURCE_PACKAGES.includes(p));
if (overlap.length) throw new Error(`benchmark packages also train a shipped model: ${overlap.join(', ')}`);

const datasets = process.env.LOUPE_DATASETS ?? path.join(os.homedir(), '.cache/loupe-datasets');
const out = path.resolve(process.argv[2] ?? path.join(datasets, 'robust'));
const debs = path.join(datasets, '.debs');
const unpacked = path.join(datasets, '.x');
for (const d of [out, debs, unpacked]) mkdirSync(d, { recursive: true });

for (const p of Object.keys(PACKAGES)) {
  if (readdirSync(debs).some((f) => f.startsWith(`${p}_`))) continue;
  execFileSync('apt-get', ['download', '-q', p], { cwd: debs, stdio: 'ignore' });
}
const licences: string[] = [];
let kept = 0;
for (const [p, prefix] of Object.entries(PACKAGES)) {
  const deb = readdirSync(debs).find((f) => f.startsWith(`${p}_`))!;
  const root = path.join(unpacked, p);
  if (!existsSync(root)) execFileSync('dpkg', ['-x', path.join(debs, deb), root]);
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(root, f))
    .filter((f) => IMAGE.test(f) && statSync(f).isFile())
    .sort();
  let n = 0;
  for (const file of files) {
    // The path below the package's own folder names the file: the same basename recurs in folders.
    const rel = path.relative(root, file).replace(/^usr\/share\/(doc\/)?/, '');
    const name = `${prefix}-${rel.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    const m = await sharp(file).metadata().catch(() => undefined);
    if (!m?.width || !m.height || Math.min(m.width, m.height) < MIN_SIDE) continue;
    const target = path.join(out, name);
    if (!existsSync(target)) copyFileSync(file, target);
    n++;
  }
  kept += n;
  licences.push(`${prefix}-*: ${n} images from the Debian package ${p} (see /usr/share/doc/${p}/copyright in the package)`);
}
writeFileSync(path.join(out, 'LICENSES.txt'), licences.join('\n') + '\n');
process.stdout.write(`${out}\n${kept} images\n`);
