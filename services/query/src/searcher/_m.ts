import { Worker } from 'node:worker_threads';
for (const what of ['ioredis', '@loupe/shared', './shard-worker-light-probe.ts']) {
  const t = performance.now();
  await new Promise((r) => { const w = new Worker(new URL('./_w.mjs', import.meta.url), { env: { ...process.env, WHAT: what } }); w.on('exit', r); w.on('error', (e) => console.log(String(e))); });
  console.log(what, 'total', Math.round(performance.now() - t));
}
