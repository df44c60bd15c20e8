import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseSource } from './config.ts';

describe('config', () => {
  it('works with nothing set', () => {
    const c = loadConfig({});
    expect(c.LOUPE_SOURCE).toMatch(/^file:\/\/\/.*samples$/);
    expect(c.LOUPE_QUERY_PORT).toBe(7700);
    expect(c.LOUPE_SHARDS).toBe(4);
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

  it('splits sources', () => {
    expect(parseSource('s3://bucket/some/prefix/')).toEqual({ kind: 's3', bucket: 'bucket', prefix: 'some/prefix/' });
    expect(parseSource('s3://bucket')).toEqual({ kind: 's3', bucket: 'bucket', prefix: '' });
    expect(parseSource('file:///tmp/photos')).toEqual({ kind: 'file', dir: '/tmp/photos' });
  });
});
