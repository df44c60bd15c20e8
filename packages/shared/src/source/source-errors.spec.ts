import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { ImageRejectedError } from '../image/image-rejected-error.ts';
import { ObjectGoneError } from './object-source.ts';
import { describeSourceError, isTransientSourceError } from './source-errors.ts';

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} happened` });
}

function systemError(code: string): Error {
  return Object.assign(new Error(`connect ${code}`), { code });
}

describe('isTransientSourceError (is a failed source read worth trying again later?)', () => {
  it('retries what may pass: 5xx, throttling, timeouts, dropped or refused connections, a busy disk', () => {
    for (const e of [s3Error('ServiceUnavailable', 503), s3Error('InternalError', 500), s3Error('SlowDown', 503), s3Error('TooManyRequests', 429)]) {
      expect(isTransientSourceError(e)).toBe(true);
    }
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EIO', 'EMFILE']) expect(isTransientSourceError(systemError(code))).toBe(true);
    expect(isTransientSourceError(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }))).toBe(true);
  });

  it('does not retry what waiting does not fix, nor the object\'s own faults', () => {
    for (const e of [s3Error('AccessDenied', 403), s3Error('InvalidRequest', 400), s3Error('NoSuchKey', 404)]) expect(isTransientSourceError(e)).toBe(false);
    expect(isTransientSourceError(new ObjectGoneError('a.jpg', 'missing'))).toBe(false);
    expect(isTransientSourceError(new ImageRejectedError('not-an-image', 'text'))).toBe(false);
    expect(isTransientSourceError(systemError('ENOENT'))).toBe(false);
    expect(isTransientSourceError(new Error('something else'))).toBe(false);
    expect(isTransientSourceError('a string')).toBe(false);
  });

  it('describes an S3 error with its HTTP status', () => {
    expect(describeSourceError(s3Error('ServiceUnavailable', 503))).toBe('ServiceUnavailable (HTTP 503): ServiceUnavailable happened');
  });
});
