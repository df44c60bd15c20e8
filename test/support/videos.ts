import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FfmpegBinary } from '@loupe/shared';

const run = promisify(execFile);

/**
 * An H.264 MP4 slideshow of real photos, `secondsEach` per photo at 25 fps, 480x270: each photo
 * is filled into 16:9 and zoomed in slowly, or panned across, so every frame differs from the last.
 */
export async function makeSlideshow(ffmpeg: FfmpegBinary, photos: string[], out: string, secondsEach = 4): Promise<void> {
  const frames = secondsEach * 25;
  const moves = [
    `z='min(zoom+0.002,1.3)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'`,
    `z=1.2:x='on*1.5':y='ih/2-(ih/zoom/2)'`,
    `z='min(zoom+0.003,1.4)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'`,
  ];
  const chains = photos.map((_, i) =>
    `[${i}]scale=960:540:force_original_aspect_ratio=increase,crop=960:540,` +
    `zoompan=${moves[i % moves.length]}:d=${frames}:s=480x270:fps=25,setsar=1[v${i}]`);
  const graph = `${chains.join(';')};${photos.map((_, i) => `[v${i}]`).join('')}concat=n=${photos.length}:v=1:a=0,format=yuv420p`;
  await run(ffmpeg.path, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...photos.flatMap((p) => ['-i', p]),
    '-filter_complex', graph, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', out]);
}

/** The frame of `video` at `seconds`, as a PNG (what someone grabbing a still from the video would have). */
export async function frameAt(ffmpeg: FfmpegBinary, video: string, seconds: number, out: string): Promise<Buffer> {
  await run(ffmpeg.path, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-ss', String(seconds), '-i', video, '-frames:v', '1', out]);
  return readFile(out);
}

/** A real clip a Debian package ships: 7.6 s of a city street (MPEG-2, 720x405), from Kivy's examples. */
const CLIP = { package: 'python-kivy-examples', path: './usr/share/kivy-examples/widgets/cityCC0.mpg' };

/**
 * The Debian clip, from $LOUPE_DATASETS/videos (~/.cache/loupe-datasets), fetched there with
 * `apt-get download` (8.7 MB) when it is missing; null when that cannot be done (no apt lists, say).
 */
export function debianClip(): string | null {
  const dir = path.join(process.env.LOUPE_DATASETS ?? path.join(os.homedir(), '.cache/loupe-datasets'), 'videos');
  const file = path.join(dir, path.basename(CLIP.path));
  if (existsSync(file)) return file;
  const work = mkdtempSync(path.join(os.tmpdir(), 'loupe-clip-'));
  try {
    execFileSync('apt-get', ['download', '-q', CLIP.package], { cwd: work, stdio: 'ignore', timeout: 120_000 });
    const deb = path.join(work, readdirSync(work).find((f) => f.endsWith('.deb'))!);
    const tar = execFileSync('dpkg-deb', ['--fsys-tarfile', deb], { maxBuffer: 256 << 20 });
    const clip = execFileSync('tar', ['-xO', CLIP.path], { input: tar, maxBuffer: 64 << 20 });
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, clip);
    return file;
  } catch {
    return null;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `video`'s first video stream copied into a Matroska file (no re-encoding). */
export async function remuxToMkv(ffmpeg: FfmpegBinary, video: string, out: string): Promise<void> {
  await run(ffmpeg.path, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-i', video, '-map', '0:v:0', '-c:v', 'copy', out]);
}
