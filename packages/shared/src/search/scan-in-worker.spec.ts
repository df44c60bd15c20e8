import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HammingScanner } from './hamming-scanner.ts';
import { wasmScanModule } from './kernel/wasm-scan-module.ts';

describe('scanner in a worker thread', () => {
  it('instantiates the wasm kernel synchronously in a worker and returns the same hits', async () => {
    const codeBytes = 8;
    const codes = new Uint8Array(5000 * codeBytes).map((_, i) => (i * 2654435761) >>> 24);
    const query = codes.slice(40 * codeBytes, 41 * codeBytes);
    query[0] ^= 1;
    const local = new HammingScanner(codeBytes);
    local.append(codes);
    // The worker loads the TypeScript fixture through tsx's loader (as a tsx-run service would).
    const fixture = new URL('./scan-in-worker.fixture.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(fixture)}); });`;
    const worker = new Worker(boot, { eval: true, workerData: { codes, codeBytes, query, module: wasmScanModule() } });
    const reply = await new Promise<any>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(reply.kernel).toBe('wasm-simd');
    expect(reply.scan).toEqual(local.search(query, { k: 5 }));
    expect(reply.mih).toEqual(local.search(query, { k: 5, maxDistance: 6 }));
    expect(reply.scan[0]).toEqual({ record: 40, distance: 1 });
    expect(reply.sharedExports).toContain('scan8');
  });
});
