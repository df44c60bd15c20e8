import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { encodeArtifact, normalizeArtifactUrl, writeArtifact, type LoupeConfig, type ModelArtifact } from '@loupe/shared';

export type S3Settings = Pick<LoupeConfig, 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE'>;

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
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
    if (!m) throw new Error(`artifact URL ${url} needs a bucket and a key: s3://bucket/path/model.loupe`);
    const client = new S3Client({ region: s3?.S3_REGION ?? 'us-east-1', endpoint: s3?.S3_ENDPOINT, forcePathStyle: s3?.S3_FORCE_PATH_STYLE ?? false });
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: m[1],
          Key: m[2],
          Body: encodeArtifact(artifact),
          ContentType: 'application/octet-stream',
          Metadata: { 'loupe-model-id': artifact.header.id },
        }),
      );
    } finally {
      client.destroy();
    }
    return url;
  }
  throw new Error(`cannot write model artifacts to ${scheme}// URLs (use a path, file:///... or s3://bucket/key)`);
}
