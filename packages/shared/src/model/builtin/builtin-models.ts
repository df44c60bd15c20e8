import { DEFAULT_VIEW_PLAN, withDctLevel } from '../../view/view-plan.ts';
import { buildArtifact, type ModelArtifact } from '../artifact/model-artifact.ts';
import { NsfwjsMobileNetBackbone } from '../backbone/nsfwjs-mobilenet-backbone.ts';
import { DEFAULT_DESCRIPTOR_CONFIG, type DescriptorConfig } from '../descriptor/descriptor-config.ts';
import { seededGaussian } from '../head/seeded-gaussian.ts';
import { MOBILENETV2_MEAN_BASE64 } from './mobilenetv2-mean.ts';

/**
 * Untrained models that need no artifact file:
 *
 *   builtin:mobilenetv2-rp<bits>[-crop|-r<side>][-l<grid>][-dct][-s<seed>]   e.g. builtin:mobilenetv2-rp256-dct
 *
 * Descriptor: MobileNetV2-1.4 (nsfwjs), DEFAULT_DESCRIPTOR_CONFIG (R-MAC, regions from a 320
 * forward; `-r448`: regions from a 448 forward, better regional codes at ~2/3 the throughput;
 * `-crop`: one forward per view, ~10x the cost of a global pass), DEFAULT_VIEW_PLAN (`-l4`: regional
 * levels 2x2 .. 4x4 instead of 2x2 and 3x3, pooled from the same forward); `-dct` adds a
 * perceptual level (DctHash of the whole image, `bits` long; no forward) and its query view.
 * Head (linear-sign): subtract the mean descriptor of the photos data set
 * (mobilenetv2-mean.ts), project on `bits` Gaussian hyperplanes drawn by seededGaussian(seed)
 * (row-major [bits, 1792]; seed 1 unless -s is given), sign. Random hyperplanes keep cosine
 * similarity: P(bit differs) = angle / pi (Charikar's SimHash).
 * Changing any of this changes codes: define a new id instead.
 */
const BUILTIN_ID = /^builtin:mobilenetv2-rp(\d+)(?:(-crop)|-r(\d+))?(?:-l(\d))?(-dct)?(?:-s(\d+))?$/;
export const DEFAULT_BUILTIN_SEED = 1;

export function isBuiltinModel(url: string): boolean {
  return url.startsWith('builtin:');
}

export function builtinArtifact(id: string): ModelArtifact {
  const m = BUILTIN_ID.exec(id);
  if (!m) throw new Error(`unknown builtin model "${id}" (expected builtin:mobilenetv2-rp<bits>[-crop|-r<side>][-l<grid>][-dct][-s<seed>])`);
  const bits = Number(m[1]);
  if (bits < 8 || bits > 4096 || bits % 8 !== 0) throw new Error(`builtin model bits must be a multiple of 8 in 8..4096, got ${bits}`);
  const seed = m[6] === undefined ? DEFAULT_BUILTIN_SEED : Number(m[6]);
  if (!Number.isSafeInteger(seed) || seed > 0xffffffff) throw new Error(`builtin model seed must fit 32 bits, got ${m[6]}`);
  const maxGrid = m[4] === undefined ? 3 : Number(m[4]);
  if (maxGrid < 2 || maxGrid > 6) throw new Error(`builtin model pyramid must end at a 2x2..6x6 grid, got ${maxGrid}`);
  const regionSide = m[3] === undefined ? undefined : Number(m[3]);
  if (regionSide !== undefined && (regionSide < 64 || regionSide > 1024)) throw new Error(`builtin model region side must be in 64..1024, got ${regionSide}`);
  const regionLevels = DEFAULT_VIEW_PLAN.levels.slice(1);
  for (let g = regionLevels.length + 2; g <= maxGrid; g++) regionLevels.push({ ...regionLevels[regionLevels.length - 1], name: `r${g}`, grid: g });
  const cnnPlan = { levels: [DEFAULT_VIEW_PLAN.levels[0], ...regionLevels.filter((l) => l.grid <= maxGrid)] };
  const [globalSide, side] = [DEFAULT_DESCRIPTOR_CONFIG.levelSides[0], regionSide ?? DEFAULT_DESCRIPTOR_CONFIG.levelSides[1]];
  // (crop mode ignores levelSides and runs every view at the native side)
  const levelSides = cnnPlan.levels.map((_, l) => (l === 0 ? globalSide : side));
  const cnn: DescriptorConfig = { ...DEFAULT_DESCRIPTOR_CONFIG, mode: m[2] ? 'crop' : 'rmac', levelSides };
  const dct = m[5] !== undefined;
  const plan = dct ? withDctLevel(cnnPlan) : cnnPlan;
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
