import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { waitFor } from './capture-logger.ts';
import type { TestS3 } from './s3-server.ts';

/**
 * S3 event notifications as S3 writes them (event structure 2.1), for tests to publish on an SQS
 * queue themselves: fauxqs stores objects but sends no notifications.
 */
export function s3EventRecord(eventName: string, bucket: string, key: string, object: { eTag?: string; size?: number; sequencer: string }) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: new Date().toISOString(),
    eventName,
    userIdentity: { principalId: 'AWS:TEST' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'R', 'x-amz-id-2': 'H' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'loupe',
      bucket: { name: bucket, ownerIdentity: { principalId: 'O' }, arn: `arn:aws:s3:::${bucket}` },
      // URL-encoded the way S3 does it: + for a space, slashes kept.
      object: { key: encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+'), ...object },
    },
  };
}

export const s3EventMessage = (...records: object[]) => JSON.stringify({ Records: records });

/** The objects under a prefix as the bucket has them now. */
export async function currentObjects(s3: TestS3, bucket: string, prefix: string): Promise<Map<string, { etag: string; size: number }>> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return new Map((r.Contents ?? []).map((o) => [o.Key!, { etag: o.ETag!.replace(/"/g, ''), size: o.Size! }]));
}

/** A creation event of the object as it is now in the bucket. */
export async function createdEvent(s3: TestS3, bucket: string, key: string, sequencer: string, eventName = 'ObjectCreated:Put') {
  const o = (await currentObjects(s3, bucket, key)).get(key);
  if (!o) throw new Error(`${key} is not in the bucket`);
  return s3EventRecord(eventName, bucket, key, { eTag: o.etag, size: o.size, sequencer });
}

/** Resolves once no message waits and `inFlight` are received but not deleted. */
export function queueDrained(s3: TestS3, queueUrl: string, inFlight = 0): Promise<boolean> {
  return waitFor(async () => {
    const d = await s3.queueDepth(queueUrl);
    return d.waiting === 0 && d.inFlight === inFlight;
  });
}
