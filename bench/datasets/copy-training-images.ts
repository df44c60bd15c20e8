/**
 * Assembles the training images of the shipped copy-detection heads (builtin:mobilenetv2-copy256-p448c5-dct, -p448-dct)
 * from the Debian packages of TRAINING_SOURCE_PACKAGES (the one list of training sources), none of
 * which holds a benchmark image:
 *   wallpapers (GNOME, KDE Plasma: the largest file of each, MATE, Lomiri, sway, UKUI), Tux Paint's
 *   photo templates and its stamps of things (animals, food, plants, buildings, ...; at least
 *   200 px on the short side), and Palapeli's puzzle photos.
 *
 *   npx tsx bench/datasets/copy-training-images.ts [DIR]   (default $LOUPE_DATASETS/copy-training)
 *
 * Idempotent; prints DIR and the count. Needs apt-get (Debian's package index) and ~700 MB of disk.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { TRAINING_SOURCE_PACKAGES } from '@loupe/shared';

const PACKAGES = TRAINING_SOURCE_PACKAGES;
const WALLPAPERS = PACKAGES.filter((p) => /backgrounds|wallpapers/.test(p) && p !== 'plasma-workspace-wallpapers');
const STAMP_KINDS = /\/stamps\/(animals|food|plants|town\/(houses|monuments)|space|vehicles|household|clothes|hobbies|sports|people|medical|military|seasonal\/(halloween|easter))\//;
const IMAGE = /\.(jpe?g|png|webp)$/i;
const MIN_SIDE = 200;

const datasets = process.env.LOUPE_DATASETS ?? path.join(os.homedir(), '.cache/loupe-datasets');
const out = path.resolve(process.argv[2] ?? path.join(datasets, 'copy-training'));
const debs = path.join(datasets, '.debs');
const unpacked = path.join(datasets, '.x');
mkdirSync(out, { recursive: true });
mkdirSync(debs, { recursive: true });
mkdirSync(unpacked, { recursive: true });

for (const p of PACKAGES) {
  if (readdirSync(debs).some((f) => f.startsWith(`${p}_`))) continue;
  execFileSync('apt-get', ['download', '-q', p], { cwd: debs, stdio: 'ignore' });
}
for (const p of PACKAGES) {
  const deb = readdirSync(debs).find((f) => f.startsWith(`${p}_`))!;
  if (!existsSync(path.join(unpacked, p))) execFileSync('dpkg', ['-x', path.join(debs, deb), path.join(unpacked, p)]);
}

const files = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f)).filter((f) => IMAGE.test(f) && statSync(f).isFile()) : [];
const safe = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, '_');
const picks = new Map<string, string>(); // target name -> source file

// KDE ships each wallpaper at many resolutions: keep the largest file of each.
const plasma = path.join(unpacked, 'plasma-workspace-wallpapers/usr/share/wallpapers');
for (const w of readdirSync(plasma)) {
  const best = files(path.join(plasma, w, 'contents')).filter((f) => !f.includes('screenshot')).sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (best) picks.set(`plasma-${w}${path.extname(best).toLowerCase()}`, best);
}
for (const p of WALLPAPERS) {
  for (const f of files(path.join(unpacked, p))) {
    const name = `${p}-${safe(path.basename(f))}`;
    if (!picks.has(name)) picks.set(name, f); // the first of equal names (same picture, another folder)
  }
}
for (const f of files(path.join(unpacked, 'tuxpaint-data/usr/share/tuxpaint/templates'))) picks.set(`tuxtemplate-${path.basename(f)}`, f);
for (const f of files(path.join(unpacked, 'palapeli-data/usr/share/palapeli/collection'))) picks.set(`palapeli-${path.basename(f)}`, f);
for (const f of files(path.join(unpacked, 'tuxpaint-stamps-default'))) {
  if (STAMP_KINDS.test(f)) picks.set(`stamp-${f.replace(/.*\/stamps\//, '').replaceAll('/', '_')}`, f);
}

let kept = 0;
for (const [name, file] of picks) {
  const m = await sharp(file).metadata().catch(() => undefined);
  if (!m?.width || !m.height || Math.min(m.width, m.height) < MIN_SIDE) continue;
  copyFileSync(file, path.join(out, name));
  kept++;
}
process.stdout.write(`${out}\n${kept} images\n`);
