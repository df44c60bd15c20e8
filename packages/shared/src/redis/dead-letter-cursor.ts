/**
 * Cursor of the newest-first list of dead letters. It names the last entry a page showed (its
 * failure time and key) rather than an offset, so entries failing or cleared between two pages
 * neither repeat nor skip the ones still there.
 */
export interface DeadLetterPosition {
  /** Failure time, ms since the epoch (the sorted set's score). */
  at: number;
  key: string;
}

/** A cursor that this service did not make (client error: 400). */
export class DeadLetterCursorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadLetterCursorError';
  }
}

export function encodeDeadLetterCursor(p: DeadLetterPosition): string {
  return Buffer.from(JSON.stringify([p.at, p.key])).toString('base64url');
}

export function decodeDeadLetterCursor(cursor: string): DeadLetterPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new DeadLetterCursorError('cursor is not one this service returned');
  const [at, key] = parsed as unknown[];
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0 || typeof key !== 'string' || key.length === 0) {
    throw new DeadLetterCursorError('cursor is not one this service returned');
  }
  return { at, key };
}

/**
 * Newest-first order as Redis lists a sorted set with ZRANGE ... REV: score descending, equal
 * scores by member bytes descending (Redis compares bytes, not UTF-16 units as JS strings do).
 */
export function compareNewestFirst(a: DeadLetterPosition, b: DeadLetterPosition): number {
  if (a.at !== b.at) return b.at - a.at;
  return Buffer.compare(Buffer.from(b.key), Buffer.from(a.key));
}

/** Whether `p` comes after the cursor's entry in newest-first order (so on a later page). */
export function isAfterCursor(p: DeadLetterPosition, cursor: DeadLetterPosition): boolean {
  return compareNewestFirst(p, cursor) > 0;
}
