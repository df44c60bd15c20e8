/**
 * The one body every 4xx and 5xx of the RPC answers with (except a partial search, which still carries
 * its hits): `error` is a code a client can branch on, `message` says what went wrong in words.
 */
export const errorBody = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'error code: BadRequest, Unauthorized, NotFound, TooLarge, UnsupportedMediaType, an image rejection reason (too-small, not-an-image, ...), RedisUnavailableError, QueryOverloadedError, SourceUnavailable, InternalError' },
    message: { type: 'string' },
  },
  additionalProperties: false,
} as const;

const retryAfter = {
  'Retry-After': { type: 'integer', description: 'seconds to wait before trying again' },
} as const;

const descriptions = {
  400: 'Bad request: a query parameter, the JSON body or the image is not acceptable',
  401: 'Missing or wrong bearer token (only when LOUPE_TOKEN is set)',
  404: 'Not found',
  413: 'Body, image dimensions or pixel count above the limits',
  415: 'Content-Type not accepted, or the bytes are not an image this service decodes',
  500: 'Internal error (logged)',
  503: 'Unavailable for now: Redis unreachable, too many queries waiting for the encoder, or (thumbnails) the source not answering. Retry-After says when to try again',
} as const;

export type ErrorStatus = keyof typeof descriptions;

/** One response schema per status, each the error body; a 503 also sends Retry-After. */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      status === 503
        ? { description: descriptions[status], headers: retryAfter, ...errorBody }
        : { description: descriptions[status], ...errorBody },
    ]),
  ) as Record<S, object>;
}

/** A 503 that is either the error body (with Retry-After) or a partial answer (hits from the shards that did answer). */
export function unavailableOrPartial(partial: object) {
  return {
    description: `${descriptions[503]}; or partial=true with the hits of the shards that answered (no Retry-After)`,
    headers: retryAfter,
    anyOf: [errorBody, partial],
  };
}
