import { HammingScanner } from './packages/shared/src/search/index.ts';
import { randomFillSync } from 'node:crypto';
const n = 4_000_000, cb = 8;
const codes = randomFillSync(new Uint8Array(n*cb));
const s = new HammingScanner(cb, {kernel: (process.env.K as any) ?? 'wasm'}); s.append(codes);
const ts: string[] = [];
for (let i = 0; i < 8; i++) { const t = performance.now(); s.search(randomFillSync(new Uint8Array(cb)), {k:10}); ts.push((performance.now()-t).toFixed(1)); }
console.log(process.env.K, ts.join(' '));
