import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { SeededRandom } from '@loupe/shared';
import { s3EventMessage, s3EventRecord } from '../../test/support/s3-events.ts';
import type { TestS3 } from '../../test/support/s3-server.ts';

/**
 * A bucket on the S3 emulator that publishes S3 event notifications to an SQS queue after each
 * change, as a bucket with notifications does (the emulator itself sends none). Delivery is at
 * least once: a `duplicateRate` share of sends also re-sends an earlier message, so ingest sees
 * duplicates and events that arrive after newer ones of the same key.
 */
export class BucketWithEvents {
  /** Key -> etag of every object the bucket holds now. */
  readonly current = new Map<string, string>();
  private readonly sent: string[] = [];
  private sequence = 0;
  duplicates = 0;

  constructor(
    private readonly s3: TestS3,
    readonly name: string,
    private readonly queueUrl: string,
    private readonly random: SeededRandom,
    private readonly duplicateRate = 0.1,
  ) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    const r = await this.s3.client.send(new PutObjectCommand({ Bucket: this.name, Key: key, Body: body }));
    const eTag = r.ETag!.replace(/"/g, '');
    this.current.set(key, eTag);
    await this.publish(s3EventRecord('ObjectCreated:Put', this.name, key, { eTag, size: body.length, sequencer: this.nextSequencer() }));
  }

  async remove(key: string): Promise<void> {
    await this.s3.remove(this.name, key);
    this.current.delete(key);
    await this.publish(s3EventRecord('ObjectRemoved:Delete', this.name, key, { sequencer: this.nextSequencer() }));
  }

  /** S3's sequencers: hexadecimal, growing with each change of a key (here, of any key). */
  private nextSequencer(): string {
    return (++this.sequence).toString(16).toUpperCase().padStart(16, '0');
  }

  private async publish(record: object): Promise<void> {
    const message = s3EventMessage(record);
    this.sent.push(message);
    await this.s3.send(this.queueUrl, message);
    if (this.random.next() < this.duplicateRate) {
      this.duplicates++;
      await this.s3.send(this.queueUrl, this.sent[this.random.below(this.sent.length)]);
    }
  }
}
