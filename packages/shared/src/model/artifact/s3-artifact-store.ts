import type { LoupeConfig } from '../../config/config.ts';

export type S3Settings = Pick<LoupeConfig, 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE'>;

/** Bucket and key of an s3://bucket/key artifact URL. */
export function s3ArtifactLocation(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) throw new Error(`artifact URL ${url} needs a bucket and a key: s3://bucket/path/model.loupe`);
  return { bucket: m[1], key: m[2] };
}

/**
 * Model artifacts in S3 (credentials from the AWS SDK chain, endpoint/region/path style from the
 * Loupe config). The SDK is imported on first use, so loading a builtin or file model never loads it.
 */
export class S3ArtifactStore {
  constructor(private readonly settings: S3Settings) {}

  async get(url: string): Promise<Uint8Array> {
    const { bucket, key } = s3ArtifactLocation(url);
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    return this.withClient(async (client) => {
      const obj = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return obj.Body!.transformToByteArray();
    });
  }

  async put(url: string, bytes: Uint8Array, modelId: string): Promise<void> {
    const { bucket, key } = s3ArtifactLocation(url);
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await this.withClient((client) =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: 'application/octet-stream', Metadata: { 'loupe-model-id': modelId } })),
    );
  }

  private async withClient<T>(fn: (client: import('@aws-sdk/client-s3').S3Client) => Promise<T>): Promise<T> {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const s = this.settings;
    const client = new S3Client({ region: s.S3_REGION, endpoint: s.S3_ENDPOINT, forcePathStyle: s.S3_FORCE_PATH_STYLE });
    try {
      return await fn(client);
    } finally {
      client.destroy();
    }
  }
}
