import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** A node of a TF.js graph model (model.json's modelTopology). */
export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, GraphAttr>;
}

export interface GraphAttr {
  shape?: { dim?: { size: string }[] };
  list?: { i?: string[]; s?: string[] };
  s?: string;
  i?: string;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

/** The bundled model as TF.js loads it: topology, weight specs and the packed (quantised) weights. */
export interface NsfwjsBundle {
  format: string;
  /** model.json's modelTopology (TF.js also reads its `versions`). */
  topology: { node: GraphNode[] } & Record<string, unknown>;
  weightSpecs: WeightSpec[];
  weightData: Buffer;
}

/** nsfwjs' version: the bundle's weights, and so every code, depend on it. */
export function nsfwjsVersion(): string {
  // The package's `exports` hide its package.json: found from a file it does export.
  let dir = path.dirname(createRequire(import.meta.url).resolve('nsfwjs/models/mobilenet_v2_mid'));
  while (path.basename(dir) !== 'nsfwjs' && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * nsfwjs' MobileNetV2 (mobilenet_v2_mid), shipped in the npm package as base64 JS modules: read
 * from node_modules, nothing downloaded.
 */
export async function readNsfwjsBundle(): Promise<NsfwjsBundle> {
  const { MobileNetV2MidModel } = await import('nsfwjs/models/mobilenet_v2_mid');
  const json = (await MobileNetV2MidModel.modelJson()).default as unknown as {
    format: string;
    modelTopology: { node: GraphNode[] } & Record<string, unknown>;
    weightsManifest: { weights: WeightSpec[] }[];
  };
  const shards = await Promise.all(MobileNetV2MidModel.weightBundles.map((load) => load()));
  return {
    format: json.format,
    topology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
    weightData: Buffer.concat(shards.map((s) => Buffer.from(s.default, 'base64'))),
  };
}

/**
 * The bundle's weights as float32 arrays by name, dequantised as TF.js does on load
 * (value = q * scale + min for uint8/uint16 weights).
 */
export function dequantizeWeights(bundle: NsfwjsBundle): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  let offset = 0;
  for (const spec of bundle.weightSpecs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const q = spec.quantization;
    const data = new Float32Array(count);
    if (q) {
      if (q.min === undefined || q.scale === undefined) throw new Error(`weight ${spec.name}: only min/scale quantisation is supported`);
      const bytes = q.dtype === 'uint8' ? 1 : q.dtype === 'uint16' ? 2 : 0;
      if (!bytes) throw new Error(`weight ${spec.name}: quantisation dtype ${q.dtype} not supported`);
      for (let i = 0; i < count; i++) {
        const v = bytes === 1 ? bundle.weightData[offset + i] : bundle.weightData.readUInt16LE(offset + 2 * i);
        data[i] = v * q.scale + q.min;
      }
      offset += count * bytes;
    } else {
      if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: dtype ${spec.dtype} not supported`);
      for (let i = 0; i < count; i++) data[i] = bundle.weightData.readFloatLE(offset + 4 * i);
      offset += count * 4;
    }
    out.set(spec.name, { shape: spec.shape, data });
  }
  if (offset !== bundle.weightData.length) throw new Error(`weights: manifest covers ${offset} of ${bundle.weightData.length} bytes`);
  return out;
}
