import { DEFAULT_VIEW_PLAN, withDctLevel } from '../../view/view-plan.ts';
import { buildArtifact, type ModelArtifact } from '../artifact/model-artifact.ts';
import { NsfwjsMobileNetBackbone } from '../backbone/nsfwjs-mobilenet-backbone.ts';
import { DEFAULT_DESCRIPTOR_CONFIG, type DescriptorConfig } from '../descriptor/descriptor-config.ts';
import { seededGaussian } from '../head/seeded-gaussian.ts';
import { MOBILENETV2_MEAN_BASE64 } from './mobilenetv2-mean.ts';

/**
 * Untrained models that need no artifact file:
 *
 *   builtin:mobilenetv2-rp<bits>[-crop|-r<side>][-dct][-s<seed>]   e.g. builtin:mobilenetv2-rp64 (default)
 *
 * Descriptor: MobileNetV2-1.4 (nsfwjs), DEFAULT_DESCRIPTOR_CONFIG (R-MAC, regions from a 320
 * forward; `-r448`: regions from a 448 forward, better regional codes at ~2/3 the throughput;
 * `-crop`: one forward per view, ~10x the cost of a global pass), DEFAULT_VIEW_PLAN; `-dct` adds
 * a perceptual level (DctHash of the whole image, `bits` long; no forward) and its query view. Head (linear-sign): subtract the mean descriptor of the photos data set
 * (mobilenetv2-mean.ts), project on `bits` Gaussian hyperplanes drawn by seededGaussian(seed)
 * (row-major [bits, 1792]; seed 1 unless -s is given), sign. Random hyperplanes keep cosine
 * similarity: P(bit differs) = angle / pi (Charikar's SimHash).
 * Changing any of this changes codes: define a new id instead.
 */
const BUILTIN_ID = /^builtin:mobilenetv2-rp(\d+)(?:(-crop)|-r(\d+))?(-dct)?(?:-s(\d+))?$/;
export const DEFAULT_BUILTIN_SEED = 1;

export function isBuiltinModel(url: string): boolean {
  return url.startsWith('builtin:');
}

export function builtinArtifact(id: string): ModelArtifact {
  const m = BUILTIN_ID.exec(id);
  if (!m) throw new Error(`unknown builtin model "${id}" (expected builtin:mobilenetv2-rp<bits>[-crop|-r<side>][-dct][-s<seed>])`);
  const bits = Number(m[1]);
  if (bits < 8 || bits > 4096 || bits % 8 !== 0) throw new Error(`builtin model bits must be a multiple of 8 in 8..4096, got ${bits}`);
  const seed = m[5] === undefined ? DEFAULT_BUILTIN_SEED : Number(m[5]);
  if (!Number.isSafeInteger(seed) || seed > 0xffffffff) throw new Error(`builtin model seed must fit 32 bits, got ${m[5]}`);
  const regionSide = m[3] === undefined ? undefined : Number(m[3]);
  if (regionSide !== undefined && (regionSide < 64 || regionSide > 1024)) throw new Error(`builtin model region side must be in 64..1024, got ${regionSide}`);
  const cnn: DescriptorConfig = m[2]
    ? { ...DEFAULT_DESCRIPTOR_CONFIG, mode: 'crop' }
    : regionSide
      ? { ...DEFAULT_DESCRIPTOR_CONFIG, levelSides: [224, regionSide, regionSide] }
      : DEFAULT_DESCRIPTOR_CONFIG;
  const dct = m[4] !== undefined;
  const plan = dct ? withDctLevel(DEFAULT_VIEW_PLAN) : DEFAULT_VIEW_PLAN;
  // levelSides has one entry per level; a dct level runs no forward and ignores its own.
  const descriptor: DescriptorConfig = dct ? { ...cnn, levelSides: [...cnn.levelSides, cnn.levelSides[0]] } : cnn;
  const dim = 1792;
  const mean = meanVector(dim);
  return buildArtifact({
    id,
    backbone: NsfwjsMobileNetBackbone.ID,
    plan,
    descriptor,
    descriptorDim: dim,
    head: {
      spec: { type: 'linear-sign', inDim: dim, bits },
      tensors: [
        { name: 'mean', shape: [dim], data: mean },
        { name: 'weight', shape: [bits, dim], data: seededGaussian(seed, bits * dim) },
        { name: 'bias', shape: [bits], data: new Float32Array(bits) },
      ],
    },
    meta: { head: 'random projection (SimHash) of mean-centred descriptors', seed },
  });
}

let mean: Float32Array | undefined;

function meanVector(dim: number): Float32Array {
  if (!mean) {
    const bytes = Buffer.from(MOBILENETV2_MEAN_BASE64, 'base64');
    if (bytes.length !== dim * 4) throw new Error('builtin mean vector has the wrong length');
    mean = new Float32Array(dim);
    for (let i = 0; i < dim; i++) mean[i] = bytes.readFloatLE(i * 4);
  }
  return mean;
}
