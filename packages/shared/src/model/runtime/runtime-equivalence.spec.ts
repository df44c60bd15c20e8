import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hammingDistance } from '../../code/bit-code.ts';
import { REPO_ROOT, DEFAULT_MODEL } from '../../config/config.ts';
import { decodeCanonical } from '../../image/canonical-image.ts';
import { prepareImage } from '../../image/prepare-image.ts';
import { createLogger } from '../../log/logger.ts';
import { writeRasterInput } from '../descriptor/backbone-input.ts';
import type { HashModel } from '../hash-model.ts';
import { loadHashModel } from '../load-hash-model.ts';
import { MOBILENET } from '../backbone/nsfwjs-mobilenet-backbone.ts';
import type { InferenceRuntime } from './inference-runtime.ts';
import { OnnxInferenceRuntime } from './onnx-inference-runtime.ts';
import { TfInferenceRuntime } from './tf-inference-runtime.ts';
import { initTf } from './tf-runtime.ts';

/**
 * The converted ONNX backbone against the TF.js graph it came from (wasm backend), on real photos:
 * the same feature maps to float rounding, and so the same codes but for borderline bits.
 */
const logger = createLogger('runtime-test', 'silent');
const SAMPLES = path.join(REPO_ROOT, 'samples');
const LIMITS = { maxBytes: 50 << 20, maxPixels: 100e6 };
const photos = readdirSync(SAMPLES).filter((f) => f.endsWith('.jpg')).sort();
let onnx: InferenceRuntime;
let wasm: InferenceRuntime;

beforeAll(async () => {
  onnx = await OnnxInferenceRuntime.create({ threads: 1, dataDir: path.join(tmpdir(), `loupe-onnx-${process.pid}`), logger });
  wasm = new TfInferenceRuntime(await initTf(logger, { tfjsNode: false }));
});

describe('ONNX backbone vs TF.js', () => {
  it.each([224, 448])('gives the feature map of the TF.js graph at %i px (max abs difference <= 1e-3)', async (side) => {
    const [a, b] = await Promise.all([onnx.loadBackbone(MOBILENET.id), wasm.loadBackbone(MOBILENET.id)]);
    let worst = 0;
    for (const name of photos.slice(0, 4)) {
      const { canonical } = await prepareImage(readFileSync(path.join(SAMPLES, name)), LIMITS);
      const input = new Float32Array(side * side * 3);
      writeRasterInput(await decodeCanonical(canonical), side, input, 0);
      const [x, y] = [await a.featureMaps(input, 1, side), await b.featureMaps(input, 1, side)];
      expect(x.length).toBe(MOBILENET.featureMapSide(side) ** 2 * MOBILENET.dim);
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
    }
    console.log(`feature maps at ${side} px: max abs difference ${worst.toExponential(2)}`);
    expect(worst).toBeGreaterThan(0); // two runtimes really ran
    expect(worst).toBeLessThanOrEqual(1e-3);
  });
});

describe('default model codes, ONNX vs wasm', () => {
  let models: Record<'onnx' | 'wasm', HashModel>;
  beforeAll(async () => {
    models = {
      onnx: await loadHashModel(DEFAULT_MODEL, { logger, runtime: onnx }),
      wasm: await loadHashModel(DEFAULT_MODEL, { logger, runtime: wasm }),
    };
  });

  it('are equal but for a small share of borderline bits (indexed views and query views)', async () => {
    let bits = 0;
    let differing = 0;
    let codes = 0;
    let equalCodes = 0;
    const compare = (a: Uint8Array, b: Uint8Array) => {
      const d = hammingDistance(a, b);
      bits += a.length * 8;
      differing += d;
      codes++;
      if (d === 0) equalCodes++;
    };
    for (const name of photos) {
      const img = await prepareImage(readFileSync(path.join(SAMPLES, name)), LIMITS);
      const input = { image: img.canonical, width: img.width, height: img.height };
      const [[x], [y]] = [await models.onnx.encode([input]), await models.wasm.encode([input])];
      x.forEach((v, i) => compare(v.code, y[i].code));
      const [qx, qy] = [await models.onnx.encodeQuery(input), await models.wasm.encodeQuery(input)];
      qx.forEach((v, i) => compare(v.code, qy[i].code));
    }
    expect([models.onnx.runtime, models.wasm.runtime]).toEqual(['onnx', 'wasm']);
    const share = differing / bits;
    // Reported for the docs (docs/benchmarks.md, "Inference runtimes").
    console.log(`ONNX vs wasm on ${photos.length} samples: ${differing} of ${bits} bits differ (${(share * 100).toFixed(4)}%), ${equalCodes} of ${codes} codes identical`);
    expect(share).toBeLessThan(0.002);
    expect(equalCodes / codes).toBeGreaterThan(0.9);
  });
});
