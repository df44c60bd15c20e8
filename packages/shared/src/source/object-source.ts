/** One object as a listing shows it. `etag` changes whenever the content may have changed. */
export interface ObjectEntry {
  key: string;
  etag: string;
  size: number;
}

export interface GetOptions {
  /** Only return the bytes of this version; a different version raises ObjectGoneError. */
  etag?: string;
  /** Refuse (ImageRejectedError 'too-large-bytes') before reading more than this. */
  maxBytes?: number;
}

/**
 * Where images come from (an S3 prefix or a local folder). Repositories only: no policy about
 * which objects matter, no retries (BullMQ retries the job), no decoding.
 */
export interface ObjectSource {
  /** Human form of the source for logs, e.g. `s3://bucket/prefix` or `file:///dir`. */
  readonly url: string;
  /** Every object whose key starts with `prefix`, in any order, each exactly once. */
  list(prefix: string): AsyncIterable<ObjectEntry>;
  /** The object's bytes. Missing or (with opts.etag) changed objects raise ObjectGoneError. */
  get(key: string, opts?: GetOptions): Promise<Buffer>;
  /** The current version of one object, or null when it does not exist. */
  stat(key: string): Promise<ObjectEntry | null>;
  close(): Promise<void>;
}

/**
 * The requested object version no longer exists (deleted, or replaced by another version).
 * Not an error of the image: discovery will see the deletion/change and make its own job.
 */
export class ObjectGoneError extends Error {
  constructor(
    readonly key: string,
    readonly why: 'missing' | 'changed',
  ) {
    super(`${key}: object ${why === 'missing' ? 'no longer exists' : 'changed since it was listed'}`);
    this.name = 'ObjectGoneError';
  }
}
