import { HammingScanner, WasmPopcountKernel, scanTopK } from './packages/shared/src/search/index.ts';
import { randomFillSync } from 'node:crypto';
for (const [cb, n] of [[4, 10_000_000],[8, 10_000_000],[16, 4_000_000], [32, 4_000_000]] as const) {
  const codes = randomFillSync(new Uint8Array(n*cb));
  for (const v of ['simd','scalar'] as const) {
    const s = new HammingScanner(cb, {kernel: new WasmPopcountKernel(v)}); s.append(codes);
    const q = randomFillSync(new Uint8Array(cb));
    const small = 5000;
    const ok = JSON.stringify(s.search(q, {k:10, to: small})) === JSON.stringify(scanTopK(codes, small, cb, q, {k:10}));
    const t0 = performance.now(); const reps = 10;
    for (let i=0;i<reps;i++) s.search(randomFillSync(new Uint8Array(cb)), {k:10});
    const ms = (performance.now()-t0)/reps;
    console.log(cb, v, ok, ms.toFixed(2), 'ms', (n/ms/1000).toFixed(0), 'Mcodes/s');
  }
}
