import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { LoupeConfig } from '@loupe/shared';

/** One received message: its body and what deleting it takes. */
export interface QueueMessage {
  id: string;
  receiptHandle: string;
  body: string;
  /** How many times SQS has handed this message out, this time included. */
  receiveCount: number;
}

export interface QueueDepth {
  /** Messages waiting to be received. */
  waiting: number;
  /** Messages received and neither deleted nor back yet (their visibility timeout runs). */
  inFlight: number;
}

/**
 * An SQS queue via @aws-sdk/client-sqs. Credentials come from the SDK's default chain, as for S3.
 * Requests go to the queue URL's own host; a host under `.localhost` (an emulator's queue URL,
 * which Node's resolver does not resolve) is reached on 127.0.0.1. AWS hosts give the region.
 */
export class SqsEventQueueRepository {
  private readonly client: SQSClient;

  constructor(
    readonly queueUrl: string,
    config: Pick<LoupeConfig, 'S3_REGION'>,
  ) {
    const url = new URL(queueUrl);
    const aws = /^(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?$/.exec(url.hostname);
    if (aws || /\.amazonaws\.com(\.cn)?$/.test(url.hostname)) {
      this.client = new SQSClient({ region: aws?.[1] ?? aws?.[2] ?? config.S3_REGION });
    } else {
      const host = /(^|\.)localhost$/.test(url.hostname) ? `127.0.0.1${url.port ? `:${url.port}` : ''}` : url.host;
      this.client = new SQSClient({ region: config.S3_REGION, endpoint: `${url.protocol}//${host}` });
    }
  }

  /** Long poll: up to `max` (1..10) messages, waiting up to `waitSeconds` for the first one. */
  async receive(max: number, waitSeconds: number, signal?: AbortSignal): Promise<QueueMessage[]> {
    const r = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
      { abortSignal: signal },
    );
    return (r.Messages ?? []).flatMap((m) =>
      m.MessageId && m.ReceiptHandle
        ? [{ id: m.MessageId, receiptHandle: m.ReceiptHandle, body: m.Body ?? '', receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1) }]
        : [],
    );
  }

  /** Deletes up to 10 messages; returns the ids SQS did not delete (they come back later). */
  async delete(messages: QueueMessage[]): Promise<string[]> {
    if (!messages.length) return [];
    const r = await this.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle })),
      }),
    );
    return (r.Failed ?? []).map((f) => messages[Number(f.Id)]?.id ?? String(f.Id));
  }

  /** The queue's approximate counts; fails when the queue does not exist or cannot be reached. */
  async depth(signal?: AbortSignal): Promise<QueueDepth> {
    const r = await this.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
      { abortSignal: signal },
    );
    return {
      waiting: Number(r.Attributes?.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  }

  close(): void {
    this.client.destroy();
  }
}
