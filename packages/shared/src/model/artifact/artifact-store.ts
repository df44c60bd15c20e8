import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/config.ts';
import { decodeArtifact, encodeArtifact, type ModelArtifact } from './model-artifact.ts';
import { S3ArtifactStore } from './s3-artifact-store.ts';

/** Reads the bytes behind a model URL; one per URL scheme. */
export type ArtifactFetcher = (url: string) => Promise<Uint8Array>;

const fetchers = new Map<string, ArtifactFetcher>([
  ['file:', (url) => readFile(fileURLToPath(url))],
  // S3 settings as the services read them (S3_ENDPOINT, S3_REGION, S3_FORCE_PATH_STYLE).
  ['s3:', (url) => new S3ArtifactStore(loadConfig()).get(url)],
]);

/** Adds (or replaces) the reader of a URL scheme, so loadHashModel can read artifacts from it. */
export function registerArtifactFetcher(scheme: string, fetcher: ArtifactFetcher): void {
  fetchers.set(scheme.endsWith(':') ? scheme : `${scheme}:`, fetcher);
}

/** file:///abs/model.loupe, /abs/model.loupe or ./rel/model.loupe -> file URL; other schemes as is. */
export function normalizeArtifactUrl(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  return `file://${path.resolve(url)}`;
}

export async function readArtifact(url: string): Promise<ModelArtifact> {
  const normal = normalizeArtifactUrl(url);
  const scheme = new URL(normal).protocol;
  const fetcher = fetchers.get(scheme);
  if (!fetcher) throw new Error(`cannot read model artifacts from ${scheme}// URLs yet (supported: ${[...fetchers.keys()].join(', ')})`);
  return decodeArtifact(await fetcher(normal));
}

export async function writeArtifact(file: string, artifact: ModelArtifact): Promise<void> {
  const target = file.startsWith('file://') ? fileURLToPath(file) : file;
  await mkdir(path.dirname(path.resolve(target)), { recursive: true });
  await writeFile(target, encodeArtifact(artifact));
}
