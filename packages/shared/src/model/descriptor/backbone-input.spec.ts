import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../log/logger.ts';
import type { RgbRaster } from '../../image/canonical-image.ts';
import { SeededRandom } from '../../util/seeded-random.ts';
import { initTf, type Tf } from '../runtime/tf-runtime.ts';
import { writeCropInput, writeRasterInput } from './backbone-input.ts';

/** The JS backbone inputs against the TF.js ops the descriptors were defined with. */
let tf: Tf;
beforeAll(async () => {
  tf = (await initTf(createLogger('input-test', 'silent'), { tfjsNode: false })).tf;
});

function raster(width: number, height: number, seed: number): RgbRaster {
  const rng = new SeededRandom(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rng.next() * 256)) };
}

function tfInput(r: RgbRaster) {
  return tf.tensor4d(Float32Array.from(r.data, (v) => v / 255), [1, r.height, r.width, 3]);
}

function maxDiff(a: Float32Array, b: Float32Array | Uint8Array | Int32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('backbone inputs made in JS', () => {
  it('copy the raster at its own size and average 2x2 blocks at half its size, as tf.avgPool does', () => {
    const r = raster(64, 64, 1);
    const same = new Float32Array(64 * 64 * 3);
    writeRasterInput(r, 64, same, 0);
    expect(maxDiff(same, tfInput(r).dataSync() as Float32Array)).toBe(0);
    const half = new Float32Array(32 * 32 * 3);
    writeRasterInput(r, 32, half, 0);
    expect(maxDiff(half, tf.avgPool(tfInput(r), 2, 2, 'valid').dataSync() as Float32Array)).toBeLessThan(1e-6);
  });

  it.each([[64, 40], [64, 80], [60, 23]])('resample %i px to %i px as tf.image.resizeBilinear with half-pixel centres', (from, to) => {
    const r = raster(from, from, from + to);
    const out = new Float32Array(to * to * 3 + 5);
    writeRasterInput(r, to, out, 5); // at an offset, as one image of a batch
    const want = tf.image.resizeBilinear(tfInput(r), [to, to], false, true).dataSync() as Float32Array;
    expect(maxDiff(out.subarray(5), want)).toBeLessThan(1e-5);
  });

  it('crops and resizes a box as tf.image.cropAndResize', () => {
    const r = raster(96, 72, 7);
    const box = { x: 0.2, y: 0.3, w: 0.5, h: 0.45 };
    const out = new Float32Array(32 * 32 * 3);
    writeCropInput(r, box, 32, out, 0);
    const want = tf.image.cropAndResize(tfInput(r), [[box.y, box.x, box.y + box.h, box.x + box.w]], [0], [32, 32], 'bilinear').dataSync() as Float32Array;
    expect(maxDiff(out, want)).toBeLessThan(1e-5);
  });
});
