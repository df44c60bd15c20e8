import { describe, expect, it } from 'vitest';
import { DEFAULT_VIEW_PLAN, planViews } from '../view/view-plan.ts';
import { unpackBits } from '../code/bit-code.ts';
import { buildArtifact, decodeArtifact, encodeArtifact } from './artifact/model-artifact.ts';
import { builtinArtifact } from './builtin/builtin-models.ts';
import { DEFAULT_DESCRIPTOR_CONFIG } from './descriptor/descriptor-config.ts';
import { boxToCells, l2Normalize, poolRegion, unitBox } from './descriptor/region-pooling.ts';
import { createHead } from './head/create-head.ts';
import { LinearSignHead } from './head/linear-sign-head.ts';
import { MlpSignHead } from './head/mlp-sign-head.ts';
import { seededGaussian } from './head/seeded-gaussian.ts';

describe('seededGaussian', () => {
  it('is deterministic per seed and roughly standard normal', () => {
    const a = seededGaussian(7, 20001);
    expect(seededGaussian(7, 20001)).toEqual(a);
    expect(seededGaussian(8, 10)).not.toEqual(a.subarray(0, 10));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    expect(a.every(Number.isFinite)).toBe(true);
  });
});

describe('region pooling', () => {
  it('maps every view of the default plan to a non-empty cell range inside the map', () => {
    for (const f of [7, 14]) {
      for (const v of planViews(DEFAULT_VIEW_PLAN, 640, 480)) {
        const c = boxToCells(unitBox(v.box, 640, 480), f);
        expect(c.c0).toBeGreaterThanOrEqual(0);
        expect(c.r0).toBeGreaterThanOrEqual(0);
        expect(c.c1).toBeLessThanOrEqual(f);
        expect(c.r1).toBeLessThanOrEqual(f);
        expect(c.c1).toBeGreaterThan(c.c0);
        expect(c.r1).toBeGreaterThan(c.r0);
      }
    }
    expect(boxToCells({ x: 0, y: 0, w: 1, h: 1 }, 7)).toEqual({ c0: 0, c1: 7, r0: 0, r1: 7 });
    // 3x3 grid with 0.4 overlap on a 14x14 map: regions of 6 cells, the middle one at 4..9.
    expect(boxToCells({ x: 0.2727, y: 0, w: 0.4545, h: 0.4545 }, 14)).toEqual({ c0: 4, c1: 10, r0: 0, r1: 6 });
  });

  it('pools avg / max / gem over the selected cells of the right image', () => {
    const f = 2;
    const c = 2;
    // two images [2, 2, 2, 2]; image 1 holds values 10 + cell index in channel 0, 1 in channel 1
    const map = new Float32Array(2 * f * f * c);
    for (let cell = 0; cell < 4; cell++) {
      map[(4 + cell) * c] = 10 + cell;
      map[(4 + cell) * c + 1] = 1;
    }
    const all = { c0: 0, c1: 2, r0: 0, r1: 2 };
    expect(Array.from(poolRegion(map, 1, f, c, all, 'avg'))).toEqual([11.5, 1]);
    expect(Array.from(poolRegion(map, 1, f, c, all, 'max'))).toEqual([13, 1]);
    expect(Array.from(poolRegion(map, 1, f, c, { c0: 1, c1: 2, r0: 1, r1: 2 }, 'avg'))).toEqual([13, 1]);
    const gem = poolRegion(map, 1, f, c, all, 'gem');
    expect(gem[0]).toBeGreaterThan(11.5);
    expect(gem[0]).toBeLessThan(13);
    expect(Array.from(poolRegion(map, 0, f, c, all, 'avg'))).toEqual([0, 0]);
    expect(Array.from(l2Normalize(new Float32Array([3, 4])))).toEqual([0.6000000238418579, 0.800000011920929]);
  });
});

describe('hash heads', () => {
  it('linear-sign computes sign(W (x - mean) + bias)', () => {
    const head = new LinearSignHead(2, new Float32Array([1, 1]), new Float32Array([1, 0, 0, 1, -1, -1]), new Float32Array([0, 0, 0.5]));
    // x - mean = (1, -2): bits = [1 > 0, -2 > 0, 1 + 0.5 > 0]
    expect(Array.from(unpackBits(head.hash(new Float32Array([2, -1])), 3))).toEqual([1, 0, 1]);
  });

  it('mlp-sign runs dense layers with activations', () => {
    const head = new MlpSignHead(1, new Float32Array([0]), [
      { units: 2, inDim: 1, activation: 'relu', weight: new Float32Array([1, -1]), bias: new Float32Array([0, 0]) },
      { units: 2, inDim: 2, activation: 'linear', weight: new Float32Array([1, -1, -1, 1]), bias: new Float32Array([0, 0]) },
    ]);
    // x = 3: relu([3, -3]) = [3, 0] -> [3, -3] -> bits 1 0
    expect(Array.from(unpackBits(head.hash(new Float32Array([3])), 2))).toEqual([1, 0]);
    expect(Array.from(unpackBits(head.hash(new Float32Array([-3])), 2))).toEqual([0, 1]);
  });
});

describe('model artifact', () => {
  it('round-trips a builtin model bit for bit', () => {
    const a = builtinArtifact('builtin:mobilenetv2-rp64');
    const b = decodeArtifact(encodeArtifact(a));
    expect(b.header).toEqual(a.header);
    expect(b.header.descriptor).toEqual(DEFAULT_DESCRIPTOR_CONFIG);
    for (const [name, data] of a.tensors) expect(sameFloats(b.tensors.get(name)!, data)).toBe(true);
    // A level's querySide (finer scale-paired regions) is part of the plan and survives the file.
    const c5 = builtinArtifact('builtin:mobilenetv2-rp64-p448c5');
    expect(c5.header.plan.levels[1].querySide).toBe(160);
    expect(decodeArtifact(encodeArtifact(c5)).header.plan).toEqual(c5.header.plan);
  });

  it('round-trips an mlp head and rebuilds the same head from it', () => {
    const inDim = 1792;
    const spec = { type: 'mlp-sign' as const, inDim, bits: 16, layers: [{ units: 32, activation: 'tanh' as const }, { units: 16, activation: 'linear' as const }] };
    const tensors = [
      { name: 'mean', shape: [inDim], data: seededGaussian(1, inDim) },
      { name: 'weight0', shape: [32, inDim], data: seededGaussian(2, 32 * inDim) },
      { name: 'bias0', shape: [32], data: seededGaussian(3, 32) },
      { name: 'weight1', shape: [16, 32], data: seededGaussian(4, 16 * 32) },
      { name: 'bias1', shape: [16], data: seededGaussian(5, 16) },
    ];
    const artifact = buildArtifact({ id: 'test-mlp16', backbone: 'nsfwjs:mobilenet_v2_mid', plan: DEFAULT_VIEW_PLAN, descriptor: DEFAULT_DESCRIPTOR_CONFIG, descriptorDim: inDim, head: { spec, tensors } });
    const back = decodeArtifact(encodeArtifact(artifact));
    const x = seededGaussian(9, inDim);
    expect(createHead(back.header.head, back.tensors).hash(x)).toEqual(createHead(spec, artifact.tensors).hash(x));
  });

  it('rejects bad magic, truncation, trailing bytes and inconsistent headers', () => {
    const bytes = encodeArtifact(builtinArtifact('builtin:mobilenetv2-rp8'));
    expect(() => decodeArtifact(Buffer.from('not a model at all'))).toThrow(/bad magic/);
    expect(() => decodeArtifact(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/);
    expect(() => decodeArtifact(Buffer.concat([bytes, Buffer.alloc(4)]))).toThrow(/trailing/);
    const a = builtinArtifact('builtin:mobilenetv2-rp8');
    expect(() => buildArtifact({ id: 'x', backbone: a.header.backbone, plan: a.header.plan, descriptor: { ...a.header.descriptor, levelSides: [224] }, descriptorDim: 1792, head: { spec: a.header.head, tensors: a.header.tensors.map((t) => ({ ...t, data: a.tensors.get(t.name)! })) } })).toThrow(/levelSides/);
  });

  it('parses builtin ids: bits, crop mode, seed', () => {
    expect(builtinArtifact('builtin:mobilenetv2-rp128').header.bits).toBe(128);
    expect(builtinArtifact('builtin:mobilenetv2-rp64-crop').header.descriptor.mode).toBe('crop');
    expect(builtinArtifact('builtin:mobilenetv2-rp64-r448-s3').header.descriptor.levelSides).toEqual([224, 448, 448]);
    expect(builtinArtifact('builtin:mobilenetv2-rp64').header.descriptor).toEqual(DEFAULT_DESCRIPTOR_CONFIG);
    const l4 = builtinArtifact('builtin:mobilenetv2-rp256-r448-l4-dct').header;
    expect(l4.plan.levels.map((l) => [l.name, l.grid, l.kind ?? 'cnn'])).toEqual([
      ['global', 1, 'cnn'],
      ['r2', 2, 'cnn'],
      ['r3', 3, 'cnn'],
      ['r4', 4, 'cnn'],
      ['dct', 1, 'dct'],
    ]);
    expect(l4.descriptor.levelSides).toEqual([224, 448, 448, 448, 224]);
    expect(() => builtinArtifact('builtin:mobilenetv2-rp64-l9')).toThrow(/2x2..6x6/);
    const s1 = builtinArtifact('builtin:mobilenetv2-rp64').tensors.get('weight')!;
    expect(sameFloats(builtinArtifact('builtin:mobilenetv2-rp64-s1').tensors.get('weight')!, s1)).toBe(true);
    expect(sameFloats(builtinArtifact('builtin:mobilenetv2-rp64-s2').tensors.get('weight')!, s1)).toBe(false);
    expect(() => builtinArtifact('builtin:mobilenetv2-rp63')).toThrow(/multiple of 8/);
    expect(() => builtinArtifact('builtin:resnet')).toThrow(/unknown builtin/);
  });
});

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
