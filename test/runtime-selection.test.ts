import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@loupe/shared';

/**
 * LOUPE_RUNTIME in a fresh process each time (the runtime is chosen once per process): what loads,
 * what it falls back to, and the log lines that say so.
 */
const dataDir = mkdtempSync(path.join(tmpdir(), 'loupe-runtime-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const SCRIPT = `
import { createLogger, initRuntime, loadHashModel } from ${JSON.stringify(path.join(REPO_ROOT, 'packages/shared/src/index.ts'))};
const logger = createLogger('runtime-test', 'info');
const runtime = await initRuntime(undefined, logger);
const model = await loadHashModel('builtin:mobilenetv2-rp64', { logger });
const [codes] = await model.encode([{ image: { width: 448, height: 448, data: new Uint8Array(448 * 448 * 3).fill(128) }, width: 448, height: 448 }]);
console.log(JSON.stringify({ chosen: runtime.name, model: model.runtime, views: codes.length }));
`;

/** A resolve hook that makes `onnxruntime-node` fail to import, as a missing native binary would. */
const BREAK_ONNX = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent('export async function resolve(s, c, next) { if (s === "onnxruntime-node") throw new Error("simulated: onnxruntime-node binding missing"); return next(s, c); }'));
`)}`;

function run(env: Record<string, string>, extraImports: string[] = []): { result: { chosen: string; model: string; views: number }; logs: { msg: string; level: number }[] } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...extraImports.flatMap((i) => ['--import', i]), '--input-type=module', '-e', SCRIPT], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOUPE_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  return { result: lines.at(-1), logs: lines.slice(0, -1) };
}

describe('LOUPE_RUNTIME', () => {
  it('auto: ONNX Runtime, and says so', () => {
    const { result, logs } = run({ LOUPE_RUNTIME: 'auto' });
    expect(result).toEqual({ chosen: 'onnx', model: 'onnx', views: 14 });
    expect(logs.map((l) => l.msg)).toContain('inference runtime: onnx');
  });

  it('wasm: TF.js WebAssembly, never ONNX Runtime', () => {
    const { result, logs } = run({ LOUPE_RUNTIME: 'wasm' });
    expect(result).toEqual({ chosen: 'wasm', model: 'wasm', views: 14 });
    expect(logs.map((l) => l.msg)).toContain('inference runtime: wasm');
    expect(logs.some((l) => /onnx/i.test(l.msg))).toBe(false);
  });

  it('an ONNX Runtime that fails to load falls back to TF.js with a warning', () => {
    const { result, logs } = run({ LOUPE_RUNTIME: 'onnx' }, [BREAK_ONNX]);
    expect(['tfjs-node', 'wasm']).toContain(result.chosen);
    expect(result.views).toBe(14);
    const warning = logs.find((l) => l.msg.startsWith('inference runtime onnx did not load'));
    expect(warning).toMatchObject({ level: 40, msg: 'inference runtime onnx did not load: falling back to tfjs-node' });
    expect(JSON.stringify(warning)).toMatch(/simulated: onnxruntime-node binding missing/);
  });

  it('tfjs-node: used where its binary installs, else wasm with a warning', () => {
    const { result, logs } = run({ LOUPE_RUNTIME: 'tfjs-node' });
    if (result.chosen === 'tfjs-node') return; // a machine where libtensorflow installed
    expect(result.chosen).toBe('wasm');
    expect(logs.map((l) => l.msg)).toContain('inference runtime tfjs-node did not load: falling back to wasm');
  });
});
