import { encodeArtifact, normalizeArtifactUrl, S3ArtifactStore, writeArtifact, type ModelArtifact, type S3Settings } from '@loupe/shared';

/**
 * Stores a model artifact at a path, a file:// URL or an s3://bucket/key URL (credentials from the
 * AWS SDK chain, endpoint/region/path style from the Loupe config). Returns the URL to put in
 * LOUPE_MODEL.
 */
export async function publishArtifact(target: string, artifact: ModelArtifact, s3?: S3Settings): Promise<string> {
  const url = normalizeArtifactUrl(target);
  const scheme = new URL(url).protocol;
  if (scheme === 'file:') {
    await writeArtifact(url, artifact);
    return url;
  }
  if (scheme === 's3:') {
    await new S3ArtifactStore(s3 ?? { S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: false }).put(url, encodeArtifact(artifact), artifact.header.id);
    return url;
  }
  throw new Error(`cannot write model artifacts to ${scheme}// URLs (use a path, file:///... or s3://bucket/key)`);
}
