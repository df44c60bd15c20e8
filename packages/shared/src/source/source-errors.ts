import { S3ServiceException } from '@aws-sdk/client-s3';
import { ImageRejectedError } from '../image/image-rejected-error.ts';
import { ObjectGoneError } from './object-source.ts';

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'EIO', 'EBUSY', 'EAGAIN', 'EMFILE', 'ENFILE']);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'SlowDown', 'Throttling', 'ThrottlingException', 'ServiceUnavailable', 'InternalError']);

/**
 * True when a source read failed for a reason that may pass by itself — the server answered 5xx
 * or throttled, the request timed out, the connection dropped or was refused — so the read is
 * worth trying again later. False for the object's own faults (gone, not an image, too large) and
 * for refusals that waiting does not fix (403 access denied, 400, a missing folder).
 */
export function isTransientSourceError(err: unknown): boolean {
  if (err instanceof ObjectGoneError || err instanceof ImageRejectedError) return false;
  if (err instanceof S3ServiceException) {
    const status = err.$metadata?.httpStatusCode;
    if (status !== undefined) return status >= 500 || status === 429;
    return err.$retryable !== undefined || TRANSIENT_NAMES.has(err.name);
  }
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && TRANSIENT_CODES.has(code)) || TRANSIENT_NAMES.has(err.name);
}

/** One line of an error for logs and the source state (S3 errors name their HTTP status). */
export function describeSourceError(err: unknown): string {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata?.httpStatusCode;
    return `${err.name}${status ? ` (HTTP ${status})` : ''}: ${err.message}`.slice(0, 300);
  }
  return String(err).slice(0, 300);
}
