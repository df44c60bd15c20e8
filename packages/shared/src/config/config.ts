import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ImageLimits } from '../image/prepare-image.ts';
import type { VideoLimits } from '../video/keyframe-extractor.ts';
import { LOG_FORMATS } from '../log/logger.ts';

/** Root of the repository (used for the bundled sample folder and default data dir). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const source = z.string().refine(
  (s) => /^s3:\/\/[a-z0-9][a-z0-9.\-]{1,62}(\/.*)?$/.test(s) || /^file:\/\/\/.+/.test(s),
  'must be s3://bucket[/prefix] or file:///absolute/dir',
);

const SHARD_RANGES_FORMAT = 'must be `all` or shard ranges such as 0-7 or 0-3,8-11 (shards 0..1023)';

const EVENTS_URL_FORMAT =
  'must be sqs://<queue host>/<account>/<queue name> (https; http for a localhost host), or sqs+http:// / sqs+https://';

/**
 * The model a new index gets when LOUPE_MODEL is not set. An index made with an earlier default
 * (another view plan) keeps its own model: the encoder follows it (startEncoder).
 */
/** Criteria for electing a duplicate group's original (LOUPE_DUPLICATE_ORIGINAL). */
export const ORIGINAL_CRITERIA = ['pixels', 'oldest', 'bytes'] as const;
export type OriginalCriterion = (typeof ORIGINAL_CRITERIA)[number];
/** The grouping threshold's default (LOUPE_GROUP_MIN_SCORE): see README, Duplicate groups. */
export const DEFAULT_GROUP_MIN_SCORE = 0.8;

export const DEFAULT_MODEL = 'builtin:mobilenetv2-copy256-p448c5-cells64-dct';

/**
 * Shards of a new index when LOUPE_SHARDS is not set: room to spread the index over 16 searcher
 * processes later (a process mirrors any number of them; its worker threads stay bounded by its
 * cores). A rollout can move an index to another count (`loupe rollout --shards`).
 */
export const DEFAULT_SHARDS = 16;

/**
 * Every setting Loupe reads, by its environment variable name (contract: ARCHITECTURE.md).
 * Defaults make `npm start` work with nothing set.
 */
export const ConfigSchema = z.object({
  LOUPE_SOURCE: source.default(`file://${path.join(REPO_ROOT, 'samples')}`),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: bool.default('false'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be redis://host:port[/db] or rediss://...')
    .default('redis://127.0.0.1:6379'),
  /** Comma-separated host:port list; when set, Loupe talks to a Redis Cluster. */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'must be host:port[,host:port...]')
    .optional(),
  /** Shard count of a new index (default DEFAULT_SHARDS); unset, an existing index keeps its own. */
  LOUPE_SHARDS: int(1, 1024).optional(),
  LOUPE_QUERY_PORT: int(0, 65535).default(7700),
  /**
   * Where the query service's shard searches run: `embedded` (its own worker threads, every shard)
   * or `registry` (searcher processes that registered in Redis, over the searcher RPC: a router).
   */
  LOUPE_SEARCHERS: z.enum(['embedded', 'registry']).default('embedded'),
  /**
   * Whether the searchers ask for transparent huge pages for their codes (@loupe/native): a scan
   * streams them and with 4 KiB pages a quarter of its time is TLB misses. Needs the kernel's THP
   * mode `madvise` or `always`.
   */
  LOUPE_HUGE_PAGES: bool.default('true'),
  /**
   * Whether the searchers scan 256-bit codes with the addon's AVX-512 loops where the CPU has them
   * (@loupe/native; the same results as the WebAssembly scan, which runs otherwise).
   */
  LOUPE_NATIVE_SCAN: bool.default('true'),
  /** Shards a `loupe searcher` mirrors and serves: `all`, or ranges such as `0-7` or `0-3,8-11`. */
  LOUPE_SEARCHER_SHARDS: z.string().refine((s) => parseShardRanges(s) !== null, SHARD_RANGES_FORMAT).default('all'),
  LOUPE_SEARCHER_HOST: z.string().min(1).default('127.0.0.1'),
  LOUPE_SEARCHER_PORT: int(0, 65535).default(7710),
  /** The address routers reach this searcher at (host:port), when it is not LOUPE_SEARCHER_HOST:port (a pod's IP behind 0.0.0.0). */
  LOUPE_SEARCHER_ADVERTISE: z.string().regex(/^[^\s:/]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/, 'must be host:port').optional(),
  /** Shared secret of the searcher RPC (default LOUPE_TOKEN); searchers and routers need one. */
  LOUPE_SEARCHER_TOKEN: z.string().min(8, 'must be at least 8 characters').optional(),
  /** How often a searcher renews its registration (which expires after 3 of these); routers re-read the registry as often. */
  LOUPE_SEARCHER_HEARTBEAT_MS: int(100, 60_000).default(1000),
  /** A router asks a second replica of a shard after this many ms without an answer (default: the p95 of recent answers). */
  LOUPE_QUERY_HEDGE_MS: int(1, 600_000).optional(),
  LOUPE_QUERY_HOST: z.string().default('127.0.0.1'),
  LOUPE_TOKEN: z.string().min(8, 'must be at least 8 characters').optional(),
  LOUPE_MODEL: z.string().default(DEFAULT_MODEL),
  LOUPE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** auto: readable lines when stdout is a terminal, JSON lines otherwise (read by createLogger). */
  LOUPE_LOG_FORMAT: z.enum(LOG_FORMATS).default('auto'),
  LOUPE_DATA_DIR: z.string().default(path.join(REPO_ROOT, '.loupe')),
  /** Largest object ingest will fetch, in bytes. */
  LOUPE_MAX_BYTES: int(1024, 2 ** 31).default(50 * 1024 * 1024),
  /** Largest decoded image, in pixels (width * height). */
  LOUPE_MAX_PIXELS: int(1, 2 ** 31).default(100_000_000),
  /** Largest video ingest will fetch, in bytes (videos are cut into keyframes; LOUPE_MAX_BYTES stays for images). */
  LOUPE_VIDEO_MAX_BYTES: int(1024, 2 ** 31).default(200 * 1024 * 1024),
  /** Keyframes taken at most per video. */
  LOUPE_VIDEO_MAX_FRAMES: int(1, 10_000).default(120),
  /** A keyframe at least this often, in seconds since the last one taken (scene changes come besides). */
  LOUPE_VIDEO_FRAME_INTERVAL_S: z.coerce.number().min(0.1).max(3600).default(5),
  /** Only the first this many seconds of a video are cut into keyframes (the rest is not indexed). */
  LOUPE_VIDEO_MAX_SECONDS: int(1, 86_400).default(600),
  /** Ingest pauses when the encode queue holds more than this many waiting jobs. */
  LOUPE_ENCODE_BACKLOG: int(1, 1_000_000).default(200),
  LOUPE_ENCODE_BATCH: int(1, 256).default(8),
  LOUPE_CONCURRENCY: int(1, 64).default(2),
  /** Poll interval of the source for new/changed/deleted objects, ms (0 = backfill once). */
  LOUPE_POLL_MS: int(0, 86_400_000).default(30000),
  /**
   * SQS queue that receives the bucket's S3 event notifications (parseEventsUrl). When set,
   * ingest follows the events instead of polling, and re-lists only every LOUPE_RELIST_MS.
   */
  LOUPE_EVENTS: z.string().refine((s) => parseEventsUrl(s) !== null, EVENTS_URL_FORMAT).optional(),
  /** With LOUPE_EVENTS: full re-list interval, the safety net for lost events (0 = never after the first). */
  LOUPE_RELIST_MS: int(0, 30 * 86_400_000).default(86_400_000),
  LOUPE_QUERY_TIMEOUT_MS: int(10, 600_000).default(2000),
  /**
   * The query service reads a crop query's top candidates from LOUPE_SOURCE to compare their pixels
   * when the index keeps no thumbnails (false: no pixel check, for query hosts without bucket access).
   */
  LOUPE_VERIFY_FROM_SOURCE: bool.default('true'),
  /**
   * Candidate images the query service reads and decodes from the source at once, over all
   * queries (more wait their turn): the pixel check must not swamp the disk, the bucket or the
   * decoding threads.
   */
  LOUPE_VERIFY_SOURCE_READS: int(1, 256).default(8),
  /**
   * How long an image query waits for its candidates' images (default LOUPE_QUERY_TIMEOUT_MS);
   * a candidate not ready by then is left unchecked, which is not counted against the source.
   */
  LOUPE_VERIFY_SOURCE_BUDGET_MS: int(1, 600_000).optional(),
  /**
   * Where CNN forwards and heads run: ONNX Runtime, else tfjs-node, else WebAssembly (auto); a
   * named runtime that fails to load falls back along the same order with a warning.
   */
  LOUPE_RUNTIME: z.enum(['auto', 'onnx', 'tfjs-node', 'wasm']).default('auto'),
  /** Intra-op threads of each forward (ONNX Runtime); processes are how encoders scale. */
  LOUPE_RUNTIME_THREADS: int(1, 64).default(1),
  /** Threads of the query service that encode image queries (decode, forwards, candidate check). */
  LOUPE_QUERY_WORKERS: int(1, 64).default(2),
  /**
   * Intra-op threads of each query encoding thread's forwards (default: the cores shared out among
   * LOUPE_QUERY_WORKERS): a query's latency is one image's forwards, which threads shorten.
   */
  LOUPE_QUERY_RUNTIME_THREADS: int(1, 64).optional(),
  /** Image queries that may wait for an encoding thread; beyond that they get 503 with Retry-After. */
  LOUPE_QUERY_QUEUE: int(0, 10_000).default(16),
  /**
   * Whether Loupe keeps duplicate groups (README, Duplicate groups): the indexer queues a
   * loupe-groups job per indexed or deleted object and the query service runs them. Off, neither
   * happens and /v1/duplicates answers 404 saying so. Give every service the same value.
   */
  LOUPE_DUPLICATE_GROUPS: bool.default('true'),
  /**
   * Score (0..1) from which a search-by-key hit joins the searched object's duplicate group: the
   * grouping threshold, measured on the photo data sets (README, Duplicate groups).
   */
  LOUPE_GROUP_MIN_SCORE: z.coerce.number().min(0).max(1).default(DEFAULT_GROUP_MIN_SCORE),
  /** How a group's original is chosen among its whole copies: criteria in order (pixels, oldest, bytes). */
  LOUPE_DUPLICATE_ORIGINAL: z
    .string()
    .transform((s) => s.split(',').map((c) => c.trim()))
    .pipe(z.array(z.enum(ORIGINAL_CRITERIA)).min(1).max(3).refine((a) => new Set(a).size === a.length, 'criteria must not repeat'))
    .default('pixels,oldest,bytes'),
  /** Encoder processes `loupe start` runs (default: one per core). */
  LOUPE_ENCODERS: int(1, 256).optional(),
  /** Prefix of BullMQ keys; with Redis Cluster it is wrapped in a hash tag per queue. */
  LOUPE_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).default('bull'),
});

export type LoupeConfig = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; message: string }[]) {
    super(
      'Invalid configuration:\n' + issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LoupeConfig {
  const picked: Record<string, string> = {};
  for (const name of Object.keys(ConfigSchema.shape)) {
    const v = env[name];
    if (v !== undefined && v !== '') picked[name] = v;
  }
  const r = ConfigSchema.superRefine(checkEventsSource).superRefine(checkRouterToken).safeParse(picked);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues.map((i) => ({
        variable: String(i.path[0] ?? '?'),
        message: `${i.message} (got ${JSON.stringify(picked[String(i.path[0])] ?? null)})`,
      })),
    );
  }
  return r.data;
}

/**
 * The http(s) queue URL that LOUPE_EVENTS names, or null when it is not one. `sqs://` is the queue
 * URL with its scheme replaced: https, except for a loopback host (localhost, *.localhost,
 * 127.x.x.x, [::1]), where emulators listen on plain http. `sqs+http://` and `sqs+https://` name
 * the scheme outright (an emulator on another host, say). The path is /<account>/<queue name>.
 */
export function parseEventsUrl(s: string): { queueUrl: string } | null {
  const m = /^sqs(\+https?)?:\/\/([^/?#\s]+)(\/[^/?#\s]+\/[A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/.exec(s);
  if (!m) return null;
  let url: URL;
  try {
    url = new URL(`http://${m[2]}`);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  const loopback = /(^|\.)localhost$|^127\.\d+\.\d+\.\d+$|^\[::1\]$/.test(url.hostname);
  const scheme = m[1] ? m[1].slice(1) : loopback ? 'http' : 'https';
  return { queueUrl: `${scheme}://${m[2]}${m[3]}` };
}

/** Events name objects in one bucket: they only make sense for an s3:// source. */
function checkEventsSource(c: { LOUPE_EVENTS?: string; LOUPE_SOURCE: string }, ctx: z.RefinementCtx): void {
  if (c.LOUPE_EVENTS && !c.LOUPE_SOURCE.startsWith('s3://')) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['LOUPE_EVENTS'], message: `needs an s3:// LOUPE_SOURCE (LOUPE_SOURCE is ${c.LOUPE_SOURCE})` });
  }
}

/** A router's requests to searchers carry the shared secret: it must have one. */
function checkRouterToken(c: { LOUPE_SEARCHERS: string; LOUPE_SEARCHER_TOKEN?: string; LOUPE_TOKEN?: string }, ctx: z.RefinementCtx): void {
  if (c.LOUPE_SEARCHERS === 'registry' && !searcherToken(c)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['LOUPE_SEARCHER_TOKEN'], message: 'LOUPE_SEARCHERS=registry needs the searchers\' shared secret: set LOUPE_SEARCHER_TOKEN (or LOUPE_TOKEN)' });
  }
}

/** The searcher RPC's shared secret: LOUPE_SEARCHER_TOKEN, else LOUPE_TOKEN. */
export function searcherToken(c: { LOUPE_SEARCHER_TOKEN?: string; LOUPE_TOKEN?: string }): string | undefined {
  return c.LOUPE_SEARCHER_TOKEN ?? c.LOUPE_TOKEN;
}

/**
 * The shards `all` or a list of ranges names (sorted, each once); null when the text is not one.
 * `all` is an empty list: every shard of the index, whatever its count.
 */
export function parseShardRanges(s: string): number[] | null {
  if (s.trim() === 'all') return [];
  const out = new Set<number>();
  for (const part of s.split(',')) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (!m) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 1023) return null;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

export type SourceUrl = { kind: 's3'; bucket: string; prefix: string } | { kind: 'file'; dir: string };

export function parseSource(s: string): SourceUrl {
  if (s.startsWith('s3://')) {
    const rest = s.slice(5);
    const slash = rest.indexOf('/');
    return slash < 0
      ? { kind: 's3', bucket: rest, prefix: '' }
      : { kind: 's3', bucket: rest.slice(0, slash), prefix: rest.slice(slash + 1) };
  }
  return { kind: 'file', dir: fileURLToPath(s) };
}

/** The image size limits (ImageLimits) the configuration sets, for every service that decodes images. */
export function imageLimits(config: Pick<LoupeConfig, 'LOUPE_MAX_BYTES' | 'LOUPE_MAX_PIXELS'>): ImageLimits {
  return { maxBytes: config.LOUPE_MAX_BYTES, maxPixels: config.LOUPE_MAX_PIXELS };
}

/** The video limits (VideoLimits) the configuration sets, for ingest's keyframe extraction. */
export function videoLimits(config: Pick<LoupeConfig, 'LOUPE_VIDEO_MAX_BYTES' | 'LOUPE_VIDEO_MAX_FRAMES' | 'LOUPE_VIDEO_FRAME_INTERVAL_S' | 'LOUPE_VIDEO_MAX_SECONDS'>): VideoLimits {
  return {
    maxBytes: config.LOUPE_VIDEO_MAX_BYTES,
    maxFrames: config.LOUPE_VIDEO_MAX_FRAMES,
    frameIntervalS: config.LOUPE_VIDEO_FRAME_INTERVAL_S,
    maxSeconds: config.LOUPE_VIDEO_MAX_SECONDS,
  };
}
