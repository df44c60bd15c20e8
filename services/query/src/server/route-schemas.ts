import { errorResponses, unavailableOrPartial } from './error-schemas.ts';

const box = {
  type: 'object',
  properties: { x: { type: 'integer' }, y: { type: 'integer' }, w: { type: 'integer' }, h: { type: 'integer' } },
} as const;

/** The answer to a search: also the body of a partial 503, with partial=true. */
const searchResult = {
  type: 'object',
  required: ['hits', 'tookMs', 'shards'],
  properties: {
    hits: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'score', 'match', 'distance', 'granularity', 'region'],
        properties: {
          key: { type: 'string', description: 'the object; for a video, the video (its best keyframe is at t)' },
          t: { type: 'number', description: 'for a video: the time in seconds of the keyframe that matched' },
          score: { type: 'number' },
          match: { type: 'boolean' },
          distance: { type: 'integer' },
          granularity: { type: 'string', enum: ['global', 'region'] },
          region: box,
          queryRegion: box,
        },
      },
    },
    tookMs: { type: 'number' },
    shards: {
      type: 'object',
      required: ['total', 'ok'],
      properties: { total: { type: 'integer' }, ok: { type: 'integer' }, failed: { type: 'array', items: { type: 'integer' } } },
    },
    partial: { type: 'boolean' },
    stale: { type: 'boolean', description: 'answered from the in-memory mirrors while Redis was unreachable (or just back): recent changes may be missing' },
  },
} as const;

export const searchRouteSchema = {
  summary: 'Find indexed images that look like the query, or contain it',
  description:
    'Body: image bytes (Content-Type: image/*), or JSON {"key": "<object key>"} or {"code": "<hex>"}. ' +
    'Returns one hit per object (its best view), best first. 503 with partial=true when a shard did not answer. ' +
    'While Redis is unreachable, image and code searches answer from the in-memory mirrors with stale=true, and ' +
    'searches by key answer 503 with Retry-After.',
  security: [{ bearer: [] }],
  querystring: {
    type: 'object',
    properties: {
      k: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
      granularity: { type: 'string', enum: ['auto', 'global', 'region'], default: 'auto' },
      maxDistance: { type: 'integer', minimum: 0 },
      minScore: { type: 'number', minimum: 0, maximum: 1, description: "match threshold for this request (default: the model's calibrated one)" },
    },
    additionalProperties: false,
  },
  response: {
    200: { description: 'Hits, best first', ...searchResult },
    ...errorResponses(400, 401, 404, 413, 415, 500),
    503: unavailableOrPartial({ ...searchResult, required: ['hits', 'partial', 'shards'] }),
  },
} as const;

/**
 * What POST /v1/search accepts, for the OpenAPI document only: the handler checks the JSON body itself
 * (so "both key and code" gets a message saying so), and image bytes are checked when decoded.
 */
export const searchRequestBody = {
  required: true,
  content: {
    'image/*': { schema: { type: 'string', format: 'binary', description: 'image bytes (JPEG, PNG, WebP, GIF, AVIF, TIFF, ...), at most LOUPE_MAX_BYTES' } },
    'application/octet-stream': { schema: { type: 'string', format: 'binary', description: 'image bytes, format sniffed' } },
    'application/json': {
      schema: {
        oneOf: [
          { type: 'object', required: ['key'], properties: { key: { type: 'string', minLength: 1, description: 'an indexed object key: search with its stored code' } }, additionalProperties: false },
          { type: 'object', required: ['code'], properties: { code: { type: 'string', pattern: '^[0-9a-fA-F]+$', description: 'a binary code in hex, as many bits as the index uses' } }, additionalProperties: false },
        ],
      },
    },
  },
} as const;

export const statsRouteSchema = {
  summary: 'Index and pipeline counters',
  security: [{ bearer: [] }],
  response: {
    200: {
      type: 'object',
      properties: {
        indexed: { type: 'integer' },
        pending: { type: 'integer' },
        failed: { type: 'integer' },
        deleted: { type: 'integer' },
        model: { type: 'string' },
        bits: { type: 'integer' },
        generation: { type: 'string', description: 'index generation served (key namespace)' },
        rollout: {
          type: ['object', 'null'],
          description: 'model rollout in progress: the generation being re-encoded and its progress',
          properties: { generation: { type: 'string' }, model: { type: 'string' }, bits: { type: 'integer' }, indexed: { type: 'integer' } },
        },
        shards: { type: 'array', items: { type: 'object', additionalProperties: true } },
        runtime: {
          type: 'object',
          description: 'inference runtimes (onnx, tfjs-node, wasm): the query service\'s, and how many live encoders run on each; the ffmpeg ingest cuts videos with',
          properties: {
            query: { type: 'string' },
            encoders: { type: 'object', additionalProperties: { type: 'integer' } },
            ffmpeg: { type: 'string', description: '`<version> (npm|system)`, `none` (videos are dead-lettered), `unknown` before ingest started' },
          },
        },
        queues: { type: 'object', additionalProperties: true },
        source: {
          type: 'object',
          description: 'reading LOUPE_SOURCE as ingest last saw it: ok, or retrying (with back-off) since `since` after `lastError`; unknown before ingest reported',
          properties: {
            url: { type: 'string' },
            state: { type: 'string', enum: ['ok', 'retrying', 'unknown'] },
            since: { type: ['string', 'null'] },
            lastError: { type: ['string', 'null'] },
          },
        },
      },
    },
    ...errorResponses(401, 500, 503),
  },
} as const;

const deadLetter = {
  type: 'object',
  properties: {
    stage: { type: 'string', enum: ['ingest', 'encode', 'index'], description: 'the stage that gave up' },
    key: { type: 'string' },
    etag: { type: 'string', description: 'the version that failed' },
    reason: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
  },
} as const;

/** `limit` and `cursor` of a paged listing (dead letters, duplicate groups). */
const pageParameters = {
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
  cursor: { type: 'string', maxLength: 2048 },
} as const;

export const deadLetterListRouteSchema = {
  summary: 'Objects whose current version failed (dead letters), newest first',
  description:
    'One entry per object key; it goes when the key is indexed or deleted. Page with `cursor` = the `nextCursor` of the previous page.',
  security: [{ bearer: [] }],
  querystring: {
    type: 'object',
    properties: pageParameters,
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      properties: {
        deadLetters: { type: 'array', items: deadLetter },
        total: { type: 'integer', description: 'dead letters in all pages (the `failed` of /v1/stats)' },
        nextCursor: { type: ['string', 'null'] },
      },
    },
    ...errorResponses(400, 401, 500, 503),
  },
} as const;

export const deadLetterRetryRouteSchema = {
  summary: 'Re-queue dead letters',
  description:
    'Body {"key": "<object key>"} or {"all": true}. Each key\'s current version goes back through the pipeline; ' +
    'a key the source no longer has is dropped from the dead letters. 404 when the key is not a dead letter.',
  security: [{ bearer: [] }],
  body: {
    type: 'object',
    description: '{"key": "<object key>"} or {"all": true}',
    properties: { key: { type: 'string', minLength: 1, maxLength: 1024 }, all: { type: 'boolean', const: true } },
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      properties: { requeued: { type: 'integer' }, dropped: { type: 'integer' } },
    },
    ...errorResponses(400, 401, 404, 413, 415, 500, 503),
  },
} as const;

const binary = { schema: { type: 'string', format: 'binary' } } as const;

export const thumbnailRouteSchema = {
  summary: 'A thumbnail of an indexed image (the web page shows hits with these)',
  description:
    'Read from the source and bounded to `size` px on its longer side (never enlarged); a video\'s keyframe (key `<video>#t=<seconds>`) is cut out of the video with ffmpeg. WebP when the Accept header names image/webp, else JPEG. ' +
    'Headers X-Image-Width and X-Image-Height give the indexed image\'s size (after EXIF orientation), the pixels a hit\'s `region` is in. ' +
    'Cached in memory; ETag and If-None-Match (304). 404 when the key is not indexed or the source no longer has it; ' +
    '503 while Redis (the key map) or the source is unreachable.',
  security: [{ bearer: [] }],
  params: {
    type: 'object',
    required: ['key'],
    properties: { key: { type: 'string', minLength: 1, maxLength: 1024, description: 'the object key, URL-encoded (a / as %2F)' } },
  },
  querystring: {
    type: 'object',
    properties: { size: { type: 'integer', minimum: 16, maximum: 512, default: 256, description: 'longer side in pixels' } },
    additionalProperties: false,
  },
  response: {
    200: {
      description: 'The thumbnail',
      headers: {
        ETag: { type: 'string' },
        'Cache-Control': { type: 'string' },
        'X-Image-Width': { type: 'integer', description: 'width of the indexed image, in the pixels of hits\' boxes' },
        'X-Image-Height': { type: 'integer' },
      },
      content: { 'image/webp': binary, 'image/jpeg': binary },
    },
    304: { description: 'Not modified: the If-None-Match ETag is current', type: 'null' },
    ...errorResponses(400, 401, 404, 500, 503),
  },
} as const;

const duplicateGroup = {
  type: 'object',
  required: ['id', 'original', 'members', 'reclaimableBytes'],
  properties: {
    id: { type: 'string', description: "the original's key" },
    original: {
      type: 'object',
      required: ['key', 'width', 'height', 'bytes'],
      properties: { key: { type: 'string' }, width: { type: 'integer' }, height: { type: 'integer' }, bytes: { type: 'integer', description: '0 when unknown' } },
      additionalProperties: false,
    },
    members: {
      type: 'array',
      description: 'every member but the original',
      items: {
        type: 'object',
        required: ['key', 'relation', 'score', 'bytes'],
        properties: {
          key: { type: 'string' },
          relation: {
            type: 'string',
            enum: ['copy', 'edited', 'crop-of', 'contains'],
            description: 'to the original: a whole copy (edited: scored below 0.95), a part of it, or a larger picture holding it',
          },
          score: { type: 'number', minimum: 0, maximum: 1 },
          box: { ...box, description: "crop-of: where the member is in the original's pixels; contains: where the original is in the member's" },
          bytes: { type: 'integer' },
        },
        additionalProperties: false,
      },
    },
    reclaimableBytes: { type: 'integer', description: 'bytes freed by deleting every member but the original' },
  },
  additionalProperties: false,
} as const;

export const duplicateListRouteSchema = {
  summary: 'Duplicate groups: copies, crops and pictures holding others, each with its elected original',
  description: 'Groups largest first, then by id (the original\'s key). Page with `cursor` = the `nextCursor` of the previous page.',
  security: [{ bearer: [] }],
  querystring: {
    type: 'object',
    properties: {
      ...pageParameters,
      prefix: { type: 'string', maxLength: 1024, description: 'only groups with a member (or the original) whose key starts with it' },
      minSize: { type: 'integer', minimum: 2, maximum: 1_000_000, default: 2, description: 'only groups of at least this many objects, the original included' },
    },
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      required: ['groups', 'nextCursor', 'total'],
      properties: {
        groups: { type: 'array', items: duplicateGroup },
        nextCursor: { type: ['string', 'null'] },
        total: { type: 'integer', description: 'groups the filters keep, in all pages' },
      },
      additionalProperties: false,
    },
    ...errorResponses(400, 401, 500, 503),
  },
} as const;

export const duplicateGroupRouteSchema = {
  summary: 'The duplicate group of one key (404 when the key is in none)',
  description: 'The path after /v1/duplicates/ is the object key, slashes included.',
  security: [{ bearer: [] }],
  response: { 200: duplicateGroup, ...errorResponses(400, 401, 404, 500, 503) },
} as const;
