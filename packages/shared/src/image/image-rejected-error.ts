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

/** A bad input image: permanent, retrying the same bytes gives the same answer. */
export class ImageRejectedError extends Error {
  constructor(
    readonly reason: ImageRejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'ImageRejectedError';
  }

  /** `reason: message`, the form stored in dead-letter entries. */
  describe(): string {
    return `${this.reason}: ${this.message}`;
  }
}

export function isImageRejectedError(e: unknown): e is ImageRejectedError {
  return e instanceof ImageRejectedError;
}
