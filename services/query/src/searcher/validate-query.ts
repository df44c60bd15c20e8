import { codeBytes, levelSizes, type IndexLayout } from '@loupe/shared';
import { SearchInputError } from './mirror-types.ts';
import type { SearchQuery } from './searcher-types.ts';
import type { WireQuery } from './worker-protocol.ts';

/** A query checked against the layout (level, code length, k, maxDistance); SearchInputError when it does not fit. */
export function validateQuery(q: SearchQuery, layout: IndexLayout): WireQuery {
  const levels = levelSizes(layout).length;
  if (!Number.isInteger(q.level) || q.level < 0 || q.level >= levels) throw new SearchInputError(`level must be 0..${levels - 1}`);
  const bytes = codeBytes(layout);
  if (!(q.code instanceof Uint8Array) || q.code.length !== bytes) {
    throw new SearchInputError(`code must be ${bytes} bytes (${layout.bits} bits)`);
  }
  if (!Number.isInteger(q.k) || q.k < 1 || q.k > 10_000) throw new SearchInputError('k must be an integer in 1..10000');
  if (q.maxDistance !== undefined && (!Number.isInteger(q.maxDistance) || q.maxDistance < 0)) {
    throw new SearchInputError('maxDistance must be a non-negative integer');
  }
  return { level: q.level, code: q.code, k: q.k, maxDistance: q.maxDistance };
}
