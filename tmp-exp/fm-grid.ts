import { readFileSync } from 'node:fs';
import { concatNormalized, createLogger, initTf, l2Normalize } from '@loupe/shared';
import { encodeRows, trainHead } from '@loupe/train';
import { loadFashionMnist } from '../packages/eval/src/semantic/fashion-mnist-dataset.ts';
import { hammingRankingMetrics } from '../packages/eval/src/semantic/retrieval-metrics.ts';

const mode = process.argv[2] ?? 'grid';
const bits = Number(process.argv[3] ?? 32);
const epochs = Number(process.argv[4] ?? 30);
const hidden = (process.argv[5] ?? '512').split(',').map(Number);
const data = await loadFashionMnist();
const buf = readFileSync(data.dir + '/features-112-g2.f32');
const raw = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
const D = 1792, W = 4 * D, N = 70000;
const dim = mode === 'global' ? D : W;
const feats = new Float32Array(N * dim);
for (let i = 0; i < N; i++) {
  const cells = [0, 1, 2, 3].map((c) => raw.subarray(i * W + c * D, i * W + (c + 1) * D));
  if (mode === 'global') {
    const g = new Float32Array(D);
    for (const c of cells) for (let k = 0; k < D; k++) g[k] += c[k] / 4;
    feats.set(l2Normalize(g), i * dim);
  } else feats.set(concatNormalized(cells), i * dim);
}
const { tf } = await initTf(createLogger('x', 'warn'));
const db = { rows: 60000, dim, data: feats.subarray(0, 60000 * dim) };
const q = { rows: 10000, dim, data: feats.subarray(60000 * dim) };
const t0 = performance.now();
const trained = trainHead(tf, db, { method: 'csq', bits, labels: data.train.labels, seed: 1, epochs, hidden, inputBlocks: mode === 'grid' ? 4 : 1,
  onProgress: (s, l) => process.stderr.write(`epoch ${s} loss ${l.toFixed(4)} ${((performance.now() - t0) / 1000).toFixed(0)}s\n`) });
const m = hammingRankingMetrics(encodeRows(tf, trained.head, db), data.train.labels, encodeRows(tf, trained.head, q), data.test.labels, 2);
console.log(mode, bits, epochs, hidden.join(','), 'mAP', m.map.toFixed(4), '11pt', m.map11.toFixed(4), 'P@r2', m.precisionAtRadius.toFixed(4), 'train s', ((performance.now() - t0) / 1000).toFixed(0));
