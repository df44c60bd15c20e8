/**
 * Why an input was refused. Stable codes: they end up in dead-letter reasons and in the query
 * service's HTTP answers (too-large-* -> 413, not-an-image/unsupported-format -> 415, others 400).
 */
export type ImageRejectReason =
  | 'empty'
  | 'too-large-bytes'
  | 'too-many-pixels'
  | 'not-an-image'
  | 'unsupported-format'
  | 'corrupt'
  /** A query image too small to search (ingest indexes any size). */
  | 'too-small';

export const IMAGE_REJECT_REASONS: readonly ImageRejectReason[] = [
  'empty',
  'too-large-bytes',
  'too-many-pixels',
  'not-an-image',
  'unsupported-format',
  'corrupt',
  'too-small',
];

/**
 * An object refused for what its bytes are: permanent, retrying the same bytes gives the same
 * answer, so ingest dead-letters it at once. `reason` is a stable code.
 */
export class RejectedInputError<Reason extends string = string> extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
  ) {
    super(message);
  }

  /** `reason: message`, the form stored in dead-letter entries. */
  describe(): string {
    return `${this.reason}: ${this.message}`;
  }
}

/** A bad input image. */
export class ImageRejectedError extends RejectedInputError<ImageRejectReason> {
  override name = 'ImageRejectedError';
}
