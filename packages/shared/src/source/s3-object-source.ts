import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { LoupeConfig } from '../config/config.ts';
import { ImageRejectedError } from '../image/image-rejected-error.ts';
import { ObjectGoneError, type GetOptions, type ObjectEntry, type ObjectSource } from './object-source.ts';

/** Attempts of one S3 request, the first included (the SDK's standard retry strategy). */
export const S3_MAX_ATTEMPTS = 4;

export type S3SourceConfig = Pick<LoupeConfig, 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE'>;

/** S3 (or any S3-compatible server) bucket. Credentials come from the SDK's default chain. */
export class S3ObjectSource implements ObjectSource {
  readonly url: string;
  private readonly client: S3Client;

  constructor(
    private readonly bucket: string,
    config: S3SourceConfig,
    prefix = '',
  ) {
    this.url = S3ObjectSource.urlOf(bucket, prefix);
    this.client = new S3Client({
      region: config.S3_REGION,
      endpoint: config.S3_ENDPOINT,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      // The SDK retries 5xx, throttling and timeouts itself (exponential back-off with jitter);
      // longer outages are ingest's to wait out (SourceRetryService).
      retryMode: 'standard',
      maxAttempts: S3_MAX_ATTEMPTS,
      // A server that accepts the connection and then says nothing must fail, to be retried.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
    });
  }

  /** The url a source on this bucket and prefix goes by. */
  static urlOf(bucket: string, prefix: string): string {
    return `s3://${bucket}/${prefix}`;
  }

  async *list(prefix: string): AsyncIterable<ObjectEntry> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix || undefined, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        yield { key: o.Key, etag: etagOf(o.ETag, o.Size, o.LastModified), size: o.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async get(key: string, opts: GetOptions = {}): Promise<Buffer> {
    try {
      const r = await this.client.send(
        // IfMatch: the bytes of exactly the listed version, or a 412 when it was replaced.
        new GetObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: opts.etag ? `"${opts.etag}"` : undefined }),
      );
      const body = r.Body as Readable | undefined;
      if (!body) return Buffer.alloc(0);
      if (opts.maxBytes !== undefined && r.ContentLength !== undefined && r.ContentLength > opts.maxBytes) {
        body.destroy();
        throw tooLarge(r.ContentLength, opts.maxBytes);
      }
      return await readLimited(body, opts.maxBytes);
    } catch (e) {
      throw mapError(key, e);
    }
  }

  async stat(key: string): Promise<ObjectEntry | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, etag: etagOf(r.ETag, r.ContentLength, r.LastModified), size: r.ContentLength ?? 0 };
    } catch (e) {
      const mapped = mapError(key, e);
      if (mapped instanceof ObjectGoneError) return null;
      throw mapped;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** ETag without quotes; servers that send none get a stand-in from size and date. */
function etagOf(etag: string | undefined, size: number | undefined, modified: Date | undefined): string {
  const clean = etag?.replace(/^W\//, '').replace(/^"|"$/g, '');
  return clean || `s${size ?? 0}-t${modified?.getTime() ?? 0}`;
}

function tooLarge(size: number, max: number): ImageRejectedError {
  return new ImageRejectedError('too-large-bytes', `${size} bytes is over the limit of ${max}`);
}

/** Reads a body, giving up as soon as it passes maxBytes (Content-Length can be absent). */
async function readLimited(body: Readable, maxBytes?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    n += b.length;
    if (maxBytes !== undefined && n > maxBytes) {
      body.destroy();
      throw tooLarge(n, maxBytes);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, n);
}

function mapError(key: string, e: unknown): unknown {
  if (e instanceof S3ServiceException) {
    const status = e.$metadata?.httpStatusCode;
    if (e.name === 'NoSuchKey' || e.name === 'NotFound' || status === 404) return new ObjectGoneError(key, 'missing');
    if (e.name === 'PreconditionFailed' || status === 412) return new ObjectGoneError(key, 'changed');
  }
  return e;
}
