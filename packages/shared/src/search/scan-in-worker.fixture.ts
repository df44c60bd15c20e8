// Worker-thread body for scan-in-worker.spec.ts: the scanner needs nothing but typed arrays.
import { parentPort, workerData } from 'node:worker_threads';
import { HammingScanner } from './hamming-scanner.ts';
import { MultiIndexHash } from './mih/multi-index-hash.ts';

const { codes, codeBytes, query, module } = workerData as { codes: Uint8Array; codeBytes: number; query: Uint8Array; module: WebAssembly.Module };
const scanner = new HammingScanner(codeBytes, { kernel: 'wasm' });
scanner.append(codes);
const mih = MultiIndexHash.fromScanner(scanner);
// A Module compiled by the parent can be shared too (structured clone of WebAssembly.Module).
const shared = new WebAssembly.Instance(module, {});
parentPort!.postMessage({
  kernel: scanner.kernelName,
  scan: scanner.search(query, { k: 5 }),
  mih: mih.search(query, { k: 5, maxDistance: 6, strategy: 'mih' }),
  sharedExports: Object.keys(shared.exports).sort(),
});
