import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';

/** The ffmpeg that decodes videos: where it is, what it says its version is, and where it came from. */
export interface FfmpegBinary {
  path: string;
  version: string;
  from: 'npm' | 'system';
}

const NPM_PACKAGE = '@ffmpeg-installer/linux-x64';

/** The static ffmpeg inside the npm package (an optional dependency: Linux x64 only), or null. */
function npmFfmpegPath(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve(`${NPM_PACKAGE}/package.json`)), 'ffmpeg');
  } catch {
    return null;
  }
}

/** `ffmpeg` in a directory of PATH, or null. */
async function systemFfmpegPath(envPath = process.env.PATH ?? ''): Promise<string | null> {
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'ffmpeg');
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return null;
}

/** The first line of `ffmpeg -version` names the build (`ffmpeg version 6.1.1-3 ...`). */
async function versionOf(bin: string): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)(bin, ['-hide_banner', '-version'], { timeout: 10_000 });
    return /^ffmpeg version (\S+)/.exec(stdout)?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * Finds the ffmpeg to decode videos with: the npm package's static build first (the same binary on
 * every Linux x64 host), else `ffmpeg` on PATH; one that does not answer `-version` is passed over.
 * Null when there is none: videos are then dead-lettered as `video-unsupported`.
 */
export async function locateFfmpeg(envPath?: string): Promise<FfmpegBinary | null> {
  const candidates: [string | null, FfmpegBinary['from']][] = [[npmFfmpegPath(), 'npm'], [await systemFfmpegPath(envPath), 'system']];
  for (const [bin, from] of candidates) {
    if (!bin) continue;
    const version = await versionOf(bin);
    if (version) return { path: bin, version, from };
  }
  return null;
}
