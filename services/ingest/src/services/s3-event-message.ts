/**
 * Reading S3 event notifications as SQS delivers them: the S3 event JSON
 * (`{"Records":[{"eventName","s3":{"bucket":{"name"},"object":{"key","eTag","size","sequencer"}}}]}`),
 * the `s3:TestEvent` S3 sends when a notification is configured, and either of them wrapped in an
 * SNS envelope (`{"Type":"Notification","Message":"<the JSON as a string>"}`) when the bucket
 * notifies a topic the queue subscribes to without raw delivery.
 */

/** What one record asks of the index. */
export interface ObjectEvent {
  op: 'created' | 'removed';
  /** The event name without its `s3:` prefix, e.g. `ObjectCreated:Put`. */
  name: string;
  bucket: string;
  /** The object key, decoded (`+` and %XX as S3 writes them). */
  key: string;
  /** Without quotes; S3 sends it for creations only. */
  etag?: string;
  size?: number;
  /** Upper-case hex; orders the events of one key (compareSequencers). */
  sequencer?: string;
}

export type S3EventMessage =
  | { kind: 'test' }
  /** `other`: names of records that do not change content (tagging, ACL, restore...), left alone. */
  | { kind: 'records'; events: ObjectEvent[]; other: string[] };

/** A message that is not an S3 event notification (or a broken one). */
export class EventMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventMessageError';
  }
}

const CREATED = /^ObjectCreated:/;
// Lifecycle expirations delete objects too; in a versioned bucket a delete marker hides the key.
const REMOVED = /^(ObjectRemoved|LifecycleExpiration):(Delete|DeleteMarkerCreated)$/;

export function parseS3EventMessage(body: string): S3EventMessage {
  let doc = parseJson(body);
  if (isObject(doc) && doc.Type === 'Notification' && typeof doc.Message === 'string') doc = parseJson(doc.Message);
  if (!isObject(doc)) throw new EventMessageError('not a JSON object');
  if (doc.Event === 's3:TestEvent') return { kind: 'test' };
  if (!Array.isArray(doc.Records)) throw new EventMessageError('no Records array (not an S3 event notification)');
  const events: ObjectEvent[] = [];
  const other: string[] = [];
  doc.Records.forEach((record: unknown, i: number) => {
    const at = `Records[${i}]`;
    if (!isObject(record) || typeof record.eventName !== 'string') throw new EventMessageError(`${at}: no eventName`);
    const name = record.eventName.replace(/^s3:/, '');
    const op = CREATED.test(name) ? 'created' : REMOVED.test(name) ? 'removed' : null;
    if (!op) return void other.push(name);
    const s3 = isObject(record.s3) ? record.s3 : {};
    const bucket = isObject(s3.bucket) ? s3.bucket.name : undefined;
    const object = isObject(s3.object) ? s3.object : {};
    if (typeof bucket !== 'string' || !bucket) throw new EventMessageError(`${at}: no s3.bucket.name`);
    if (typeof object.key !== 'string' || !object.key) throw new EventMessageError(`${at}: no s3.object.key`);
    const event: ObjectEvent = { op, name, bucket, key: decodeKey(object.key, at) };
    if (typeof object.eTag === 'string' && object.eTag) event.etag = object.eTag.replace(/^"|"$/g, '');
    const size = typeof object.size === 'string' ? Number(object.size) : object.size;
    if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) event.size = size;
    if (object.sequencer !== undefined && object.sequencer !== null) {
      if (typeof object.sequencer !== 'string' || !/^[0-9A-Fa-f]+$/.test(object.sequencer)) {
        throw new EventMessageError(`${at}: sequencer ${JSON.stringify(object.sequencer)} is not hexadecimal`);
      }
      event.sequencer = object.sequencer.toUpperCase();
    }
    events.push(event);
  });
  return { kind: 'records', events, other };
}

/**
 * Which of two sequencers of the same key came later (AWS: pad the shorter one on the right with
 * zeros, then compare as strings; earlier versions of that page said left). Negative when a is
 * older than b, 0 when equal, positive when newer. Sequencers of different keys do not compare.
 */
export function compareSequencers(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  const x = a.toUpperCase().padEnd(n, '0');
  const y = b.toUpperCase().padEnd(n, '0');
  return x < y ? -1 : x > y ? 1 : 0;
}

/** S3 URL-encodes keys in events the way HTML forms do: `+` for a space, %XX for the rest. */
function decodeKey(raw: string, at: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new EventMessageError(`${at}: s3.object.key ${JSON.stringify(raw)} is not URL-encoded`);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new EventMessageError('not JSON');
  }
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
