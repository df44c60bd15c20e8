import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../log/logger.ts';
import type { InferenceRuntime } from '../runtime/inference-runtime.ts';
import { OnnxInferenceRuntime } from '../runtime/onnx-inference-runtime.ts';
import { TfInferenceRuntime } from '../runtime/tf-inference-runtime.ts';
import { initTf } from '../runtime/tf-runtime.ts';
import { LinearSignHead } from './linear-sign-head.ts';
import { seededGaussian } from './seeded-gaussian.ts';

const IN = 96;
const BITS = 64;
const head = new LinearSignHead(IN, seededGaussian(1, IN), seededGaussian(2, BITS * IN), seededGaussian(3, BITS));
const descriptors = Array.from({ length: 40 }, (_, i) => seededGaussian(100 + i, IN));
const logger = createLogger('head-test', 'silent');
const runtimes: Record<string, InferenceRuntime> = {};

beforeAll(async () => {
  runtimes.onnx = await OnnxInferenceRuntime.create({ threads: 1, dataDir: '/nonexistent', logger });
  runtimes.wasm = new TfInferenceRuntime(await initTf(logger, { tfjsNode: false }));
});

describe.each(['onnx', 'wasm'])('LinearSignHead.hashMany on %s', (name) => {
  it('gives the codes hash() gives, one product for many descriptors', async () => {
    expect(await head.hashMany(runtimes[name], descriptors)).toEqual(descriptors.map((d) => head.hash(d)));
  });

  it('codes a descriptor the same whatever batch it sits in', async () => {
    const alone = await Promise.all(descriptors.map(async (d) => (await head.hashMany(runtimes[name], [d]))[0]));
    expect(await head.hashMany(runtimes[name], descriptors)).toEqual(alone);
  });

  it('keeps the first bits when asked for a shorter code, and refuses more bits than it has', async () => {
    expect(await head.hashMany(runtimes[name], descriptors, 16)).toEqual(descriptors.map((d) => head.hash(d).slice(0, 2)));
    await expect(head.hashMany(runtimes[name], descriptors, 72)).rejects.toThrow(/72 of 64 bits/);
  });
});
