import { startFauxqs } from 'fauxqs';
import { S3Client, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';

export interface TestS3 {
  endpoint: string;
  client: S3Client;
  env: Record<string, string>;
  createBucket(name: string): void;
  put(bucket: string, key: string, body: Uint8Array | string): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the fauxqs S3 emulator over HTTP on a free port. */
export async function startS3(): Promise<TestS3> {
  const server = await startFauxqs({ port: 0, logger: false });
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const client = new S3Client({ endpoint: server.address, region: 'us-east-1', forcePathStyle: true, credentials });
  return {
    endpoint: server.address,
    client,
    env: {
      S3_ENDPOINT: server.address,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
    createBucket: (name) => server.createBucket(name),
    async put(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async remove(bucket, key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async stop() {
      client.destroy();
      await server.stop();
    },
  };
}
