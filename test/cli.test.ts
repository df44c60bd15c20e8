import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertBackbone, onnxModelPath, REPO_ROOT } from '@loupe/shared';

const loupe = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/loupe.mjs'), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    timeout: 60_000,
  });

describe('loupe CLI', () => {
  it('stops start-up on bad configuration, naming the variable', () => {
    const r = loupe(['start'], { LOUPE_SHARDS: '0', LOUPE_QUERY_PORT: 'port' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/LOUPE_SHARDS/);
    expect(r.stderr).toMatch(/LOUPE_QUERY_PORT/);
  });

  it('stops a searcher or a router on bad settings with exit 2, naming the variable', () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['searcher', '--shards', '7-3'], { LOUPE_SEARCHER_TOKEN: 'secret-123' }, /LOUPE_SEARCHER_SHARDS: must be `all` or shard ranges/],
      [['searcher'], { LOUPE_SEARCHER_SHARDS: '0-3,x', LOUPE_SEARCHER_TOKEN: 'secret-123' }, /LOUPE_SEARCHER_SHARDS: must be/],
      [['searcher', '--shards', '0-3'], { LOUPE_SEARCHER_PORT: '0' }, /LOUPE_SEARCHER_TOKEN: a searcher serves only routers that hold a shared secret/],
      [['query'], { LOUPE_SEARCHERS: 'registry', LOUPE_QUERY_PORT: '0' }, /LOUPE_SEARCHER_TOKEN: LOUPE_SEARCHERS=registry needs the searchers' shared secret/],
      [['query'], { LOUPE_SEARCHERS: 'remote' }, /LOUPE_SEARCHERS: /],
    ];
    for (const [args, env, message] of cases) {
      const r = loupe(args, env);
      expect([r.status, r.stderr], `${args} ${JSON.stringify(env)}`).toEqual([2, expect.stringMatching(message)]);
    }
  });

  it('stops start-up with exit 2, naming the variable, when what a setting names is not there', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const cases: [string[], Record<string, string>, RegExp][] = [
        [['start'], { LOUPE_QUERY_PORT: String(port) }, new RegExp(`LOUPE_QUERY_PORT: port ${port} on 127.0.0.1 is already in use`)],
        [['query'], { LOUPE_QUERY_PORT: String(port) }, /LOUPE_QUERY_PORT: .*already in use/],
        [['start'], { LOUPE_MODEL: 'builtin:nope', LOUPE_QUERY_PORT: '0' }, /LOUPE_MODEL: cannot load model "builtin:nope": unknown builtin model/],
        [['encoder'], { LOUPE_MODEL: 'file:///nonexistent/model.loupe' }, /LOUPE_MODEL: cannot load model "file:\/\/\/nonexistent\/model.loupe"/],
        [['start'], { LOUPE_SOURCE: 'file:///nonexistent/photos', LOUPE_QUERY_PORT: '0' }, /LOUPE_SOURCE: cannot list file:\/\/\/nonexistent\/photos: .*ENOENT/],
        [['ingest'], { LOUPE_SOURCE: 's3://bucket/', S3_ENDPOINT: 'http://127.0.0.1:1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' }, /LOUPE_SOURCE \(S3_ENDPOINT\): cannot list s3:\/\/bucket\//],
      ];
      for (const [args, env, message] of cases) {
        const r = loupe(args, env);
        expect([r.status, r.stderr], `${args} ${JSON.stringify(env)}`).toEqual([2, expect.stringMatching(message)]);
      }
    } finally {
      busy.close();
    }
  });

  it('says how to get Redis when none answers and no redis-server binary exists', () => {
    const r = loupe(['start'], { PATH: '/nonexistent', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no redis-server binary was found/);
    expect(r.stderr).toMatch(/apt-get install redis-server/);
  });

  it('prints usage for no command and rejects an unknown one', () => {
    const none = loupe([]);
    expect(none.status).toBe(2);
    expect(none.stdout).toMatch(/Usage: loupe <command>/);
    const unknown = loupe(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it('convert-model writes the ONNX model where processes look for it (for container images)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'loupe-convert-'));
    try {
      const r = loupe(['convert-model'], { LOUPE_DATA_DIR: dataDir });
      expect(r.status).toBe(0);
      const file = onnxModelPath(dataDir);
      expect(r.stdout).toContain(`wrote ${file}`);
      // The conversion is deterministic: what the CLI wrote is what a process would convert.
      expect(Buffer.compare(readFileSync(file), Buffer.from(await convertBackbone()))).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('answers --help for every command it documents, and the help names every training method', () => {
    for (const cmd of [['search', '--help'], ['stats', '--help'], ['dead', '--help'], ['duplicates', '--help'], ['bench', '--help'], ['convert-model', '--help']]) {
      const r = loupe(cmd);
      expect([r.status, r.stdout], cmd.join(' ')).toEqual([0, expect.stringMatching(new RegExp(`^Usage: loupe ${cmd[0]}`))]);
    }
    expect(loupe(['--help']).stdout).toMatch(/--method pairs\|itq\|lsh\|csq/);
  });

  it('says clearly when the query service is not running', () => {
    const r = loupe(['stats'], { LOUPE_QUERY_PORT: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the query service/);
  });
});
