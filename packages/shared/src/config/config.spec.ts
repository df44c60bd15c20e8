import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseEventsUrl, parseSource } from './config.ts';

describe('config', () => {
  it('works with nothing set', () => {
    const c = loadConfig({});
    expect(c.LOUPE_SOURCE).toMatch(/^file:\/\/\/.*samples$/);
    expect(c.LOUPE_QUERY_PORT).toBe(7700);
    // Unset: a new index gets DEFAULT_SHARDS, an existing one keeps its count.
    expect(c.LOUPE_SHARDS).toBeUndefined();
    expect(c).toMatchObject({ LOUPE_SEARCHERS: 'embedded', LOUPE_SEARCHER_SHARDS: 'all', LOUPE_SEARCHER_PORT: 7710, LOUPE_SEARCHER_HEARTBEAT_MS: 1000 });
    expect(c.S3_FORCE_PATH_STYLE).toBe(false);
  });

  it('parses values and names every bad variable', () => {
    expect(loadConfig({ LOUPE_SHARDS: '8', S3_FORCE_PATH_STYLE: 'true' })).toMatchObject({ LOUPE_SHARDS: 8, S3_FORCE_PATH_STYLE: true });
    let err: unknown;
    try {
      loadConfig({ LOUPE_SHARDS: 'many', LOUPE_SOURCE: 'http://x', REDIS_URL: 'localhost:6379', LOUPE_TOKEN: 'short' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const vars = (err as ConfigError).issues.map((i) => i.variable).sort();
    expect(vars).toEqual(['LOUPE_SHARDS', 'LOUPE_SOURCE', 'LOUPE_TOKEN', 'REDIS_URL']);
    expect((err as Error).message).toMatch(/LOUPE_SOURCE: must be s3:\/\/bucket/);
  });

  it('validates the log format', () => {
    expect(loadConfig({}).LOUPE_LOG_FORMAT).toBe('auto');
    expect(loadConfig({ LOUPE_LOG_FORMAT: 'pretty' }).LOUPE_LOG_FORMAT).toBe('pretty');
    expect(() => loadConfig({ LOUPE_LOG_FORMAT: 'yaml' })).toThrow(/LOUPE_LOG_FORMAT: .*'auto' \| 'json' \| 'pretty'/);
  });

  it('validates the inference runtime settings', () => {
    expect(loadConfig({})).toMatchObject({ LOUPE_RUNTIME: 'auto', LOUPE_RUNTIME_THREADS: 1, LOUPE_QUERY_WORKERS: 2, LOUPE_QUERY_QUEUE: 16 });
    expect(loadConfig({ LOUPE_RUNTIME: 'wasm', LOUPE_RUNTIME_THREADS: '2', LOUPE_ENCODERS: '3' })).toMatchObject({ LOUPE_RUNTIME: 'wasm', LOUPE_RUNTIME_THREADS: 2, LOUPE_ENCODERS: 3 });
    let err: unknown;
    try {
      loadConfig({ LOUPE_RUNTIME: 'cuda', LOUPE_RUNTIME_THREADS: '0', LOUPE_ENCODERS: 'all' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).issues.map((i) => i.variable).sort()).toEqual(['LOUPE_ENCODERS', 'LOUPE_RUNTIME', 'LOUPE_RUNTIME_THREADS']);
    expect((err as Error).message).toMatch(/LOUPE_RUNTIME: .*'auto' \| 'onnx' \| 'tfjs-node' \| 'wasm'/);
  });

  it('validates the pixel check\'s source read settings', () => {
    expect(loadConfig({}).LOUPE_VERIFY_SOURCE_READS).toBe(8);
    expect(loadConfig({}).LOUPE_VERIFY_SOURCE_BUDGET_MS).toBeUndefined(); // LOUPE_QUERY_TIMEOUT_MS then
    expect(loadConfig({ LOUPE_VERIFY_SOURCE_READS: '2', LOUPE_VERIFY_SOURCE_BUDGET_MS: '500' })).toMatchObject({ LOUPE_VERIFY_SOURCE_READS: 2, LOUPE_VERIFY_SOURCE_BUDGET_MS: 500 });
    let err: unknown;
    try {
      loadConfig({ LOUPE_VERIFY_SOURCE_READS: '0', LOUPE_VERIFY_SOURCE_BUDGET_MS: 'soon' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).issues.map((i) => i.variable).sort()).toEqual(['LOUPE_VERIFY_SOURCE_BUDGET_MS', 'LOUPE_VERIFY_SOURCE_READS']);
  });

  it('validates the video limits', () => {
    expect(loadConfig({})).toMatchObject({ LOUPE_VIDEO_MAX_FRAMES: 120, LOUPE_VIDEO_FRAME_INTERVAL_S: 5, LOUPE_VIDEO_MAX_SECONDS: 600, LOUPE_VIDEO_MAX_BYTES: 200 * 1024 * 1024 });
    expect(loadConfig({ LOUPE_VIDEO_FRAME_INTERVAL_S: '2.5', LOUPE_VIDEO_MAX_FRAMES: '30' })).toMatchObject({ LOUPE_VIDEO_FRAME_INTERVAL_S: 2.5, LOUPE_VIDEO_MAX_FRAMES: 30 });
    let err: unknown;
    try {
      loadConfig({ LOUPE_VIDEO_MAX_FRAMES: '0', LOUPE_VIDEO_FRAME_INTERVAL_S: 'often', LOUPE_VIDEO_MAX_SECONDS: '-1', LOUPE_VIDEO_MAX_BYTES: 'huge' });
    } catch (e) {
      err = e;
    }
    expect((err as ConfigError).issues.map((i) => i.variable).sort()).toEqual(['LOUPE_VIDEO_FRAME_INTERVAL_S', 'LOUPE_VIDEO_MAX_BYTES', 'LOUPE_VIDEO_MAX_FRAMES', 'LOUPE_VIDEO_MAX_SECONDS']);
  });

  it('splits sources', () => {
    expect(parseSource('s3://bucket/some/prefix/')).toEqual({ kind: 's3', bucket: 'bucket', prefix: 'some/prefix/' });
    expect(parseSource('s3://bucket')).toEqual({ kind: 's3', bucket: 'bucket', prefix: '' });
    expect(parseSource('file:///tmp/photos')).toEqual({ kind: 'file', dir: '/tmp/photos' });
  });

  it('reads the S3 event queue: sqs:// is https, http on a loopback host, sqs+http(s):// names the scheme', () => {
    expect(parseEventsUrl('sqs://sqs.eu-west-1.amazonaws.com/123456789012/loupe-events')).toEqual({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/loupe-events' });
    expect(parseEventsUrl('sqs://localhost:4566/000000000000/q')).toEqual({ queueUrl: 'http://localhost:4566/000000000000/q' });
    expect(parseEventsUrl('sqs://sqs.us-east-1.localhost:4566/000000000000/q')).toEqual({ queueUrl: 'http://sqs.us-east-1.localhost:4566/000000000000/q' });
    expect(parseEventsUrl('sqs://127.0.0.1:9324/000000000000/q')).toEqual({ queueUrl: 'http://127.0.0.1:9324/000000000000/q' });
    expect(parseEventsUrl('sqs://[::1]:9324/000000000000/q')).toEqual({ queueUrl: 'http://[::1]:9324/000000000000/q' });
    expect(parseEventsUrl('sqs+http://s3:4566/000000000000/q')).toEqual({ queueUrl: 'http://s3:4566/000000000000/q' });
    expect(parseEventsUrl('sqs+https://localhost:4566/000000000000/q')).toEqual({ queueUrl: 'https://localhost:4566/000000000000/q' });
    // A lookalike of localhost is not loopback.
    expect(parseEventsUrl('sqs://localhost.example.com/1/q')).toEqual({ queueUrl: 'https://localhost.example.com/1/q' });
    for (const bad of ['https://sqs.eu-west-1.amazonaws.com/1/q', 'sqs://host/q', 'sqs://host/1/q/extra', 'sqs://host/1/bad name',
      'sqs://host/1/q?x=1', 'sqs+ftp://host/1/q', 'sqs://user:pw@host/1/q', 'sqs:///1/q', 'sqs://host:99999/1/q']) {
      expect(parseEventsUrl(bad), bad).toBeNull();
    }
  });

  it('validates LOUPE_EVENTS and LOUPE_RELIST_MS, and refuses events without an s3:// source', () => {
    const defaults = loadConfig({});
    expect([defaults.LOUPE_EVENTS, defaults.LOUPE_RELIST_MS]).toEqual([undefined, 86_400_000]);
    expect(loadConfig({ LOUPE_SOURCE: 's3://photos/', LOUPE_EVENTS: 'sqs://localhost:4566/000000000000/q', LOUPE_RELIST_MS: '0' }))
      .toMatchObject({ LOUPE_EVENTS: 'sqs://localhost:4566/000000000000/q', LOUPE_RELIST_MS: 0 });
    const issues = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (e) {
        return (e as ConfigError).issues;
      }
      return [];
    };
    expect(issues({ LOUPE_SOURCE: 's3://photos/', LOUPE_EVENTS: 'https://sqs.us-east-1.amazonaws.com/1/q', LOUPE_RELIST_MS: '-1' }).map((i) => i.variable).sort())
      .toEqual(['LOUPE_EVENTS', 'LOUPE_RELIST_MS']);
    expect(issues({ LOUPE_SOURCE: 's3://photos/', LOUPE_EVENTS: 'https://x/1/q' })[0].message).toMatch(/must be sqs:\/\//);
    const folder = issues({ LOUPE_SOURCE: 'file:///tmp/photos', LOUPE_EVENTS: 'sqs://localhost:4566/000000000000/q' });
    expect(folder).toEqual([{ variable: 'LOUPE_EVENTS', message: expect.stringMatching(/needs an s3:\/\/ LOUPE_SOURCE/) }]);
  });
});
