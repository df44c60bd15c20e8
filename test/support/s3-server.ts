import { startFauxqs } from 'fauxqs';
import { S3Client, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

export interface TestS3 {
  endpoint: string;
  client: S3Client;
  env: Record<string, string>;
  createBucket(name: string): void;
  put(bucket: string, key: string, body: Uint8Array | string): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  /** An SQS queue on the same emulator: its URL, and the LOUPE_EVENTS value that names it. */
  createQueue(name: string): { queueUrl: string; events: string };
  send(queueUrl: string, body: string): Promise<void>;
  /** Messages waiting, and received but not deleted. */
  queueDepth(queueUrl: string): Promise<{ waiting: number; inFlight: number }>;
  stop(): Promise<void>;
}

/** Starts the fauxqs S3 + SQS emulator over HTTP on a free port. */
export async function startS3(): Promise<TestS3> {
  const server = await startFauxqs({ port: 0, logger: false });
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const client = new S3Client({ endpoint: server.address, region: 'us-east-1', forcePathStyle: true, credentials });
  const sqs = new SQSClient({ endpoint: server.address, region: 'us-east-1', credentials });
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
    createQueue(name) {
      // fauxqs names queues http://sqs.<region>.localhost:<port>/000000000000/<name>.
      const { queueUrl } = server.createQueue(name);
      return { queueUrl, events: queueUrl.replace(/^http:/, 'sqs:') };
    },
    async send(queueUrl, body) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    },
    async queueDepth(queueUrl) {
      const r = await sqs.send(new GetQueueAttributesCommand({
        QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }));
      return { waiting: Number(r.Attributes?.ApproximateNumberOfMessages), inFlight: Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible) };
    },
    async stop() {
      client.destroy();
      sqs.destroy();
      await server.stop();
    },
  };
}

/**
 * Puts the emulator's credentials in process.env, where the AWS SDK of a service started in this
 * process reads them (as in production); returns the function that puts the environment back.
 */
export function useS3Env(s3: TestS3): () => void {
  const saved = Object.fromEntries(Object.keys(s3.env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, s3.env);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
