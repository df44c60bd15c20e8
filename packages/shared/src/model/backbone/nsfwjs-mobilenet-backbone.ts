import type { GraphModel, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import type { Tf } from '../runtime/tf-runtime.ts';
import type { Backbone, BackboneOutputs, BackboneResult } from './backbone.ts';

const PREFIX =
  'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/';
/** Global average pool (AvgPool 7x7 VALID + squeeze), [N, 1792]; only valid for 224x224 input. */
export const MOBILENET_POOLED_NODE = `${PREFIX}feature_vector/SpatialSqueeze`;
/** The last conv block (1x1 conv to 1792 channels, ReLU6) that feeds the pool: [N, S/32, S/32, 1792]. */
export const MOBILENET_FEATURE_MAP_NODE = `${PREFIX}MobilenetV2/Conv_1/Relu6`;

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { shape?: { dim?: { size: string }[] } }>;
}

interface ModelJson {
  format: string;
  modelTopology: { node: GraphNode[] };
  weightsManifest: { weights: unknown[] }[];
}

/**
 * MobileNetV2-1.4 (ImageNet features, fine-tuned by nsfwjs) bundled in the nsfwjs package as base64
 * JS modules, so it loads from memory with no network. Weights are uint8-quantised in the bundle and
 * dequantised to float32 on load (~17 MB).
 *
 * The graph's input placeholder is declared [-1, 224, 224, 3] and GraphModel.execute rejects other
 * sizes, but everything up to Conv_1/Relu6 is convolutional (SAME padding). Loading with the
 * placeholder relaxed to [-1, -1, -1, 3] lets a 448 input yield a 14x14 map; the pooled node stays
 * 224-only (its AvgPool is a fixed 7x7 window).
 */
export class NsfwjsMobileNetBackbone implements Backbone {
  static readonly ID = 'nsfwjs:mobilenet_v2_mid';
  readonly id = NsfwjsMobileNetBackbone.ID;
  readonly dim = 1792;
  readonly nativeSide = 224;

  private constructor(private readonly model: GraphModel) {}

  static async load(tf: Tf): Promise<NsfwjsMobileNetBackbone> {
    const { MobileNetV2MidModel } = await import('nsfwjs/models/mobilenet_v2_mid');
    const json = (await MobileNetV2MidModel.modelJson()).default as unknown as ModelJson;
    const shards = await Promise.all(MobileNetV2MidModel.weightBundles.map((load) => load()));
    const weights = Buffer.concat(shards.map((s) => Buffer.from(s.default, 'base64')));
    const topology = relaxInputShape(json.modelTopology);
    findPoolInput(topology.node); // fails loudly if a new nsfwjs renames the nodes
    const model = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: topology,
        format: json.format,
        weightSpecs: json.weightsManifest.flatMap((m) => m.weights) as never,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }),
    );
    return new NsfwjsMobileNetBackbone(model);
  }

  featureMapSide(side: number): number {
    return Math.ceil(side / 32);
  }

  forward(x: Tensor4D, outputs: BackboneOutputs): BackboneResult {
    const side = x.shape[1];
    if (x.shape[2] !== side || x.shape[3] !== 3) throw new Error(`backbone input must be [N,S,S,3], got [${x.shape}]`);
    if (outputs.pooled && side !== this.nativeSide) throw new Error(`pooled output needs ${this.nativeSide}px input, got ${side}`);
    const names: string[] = [];
    if (outputs.featureMap) names.push(MOBILENET_FEATURE_MAP_NODE);
    if (outputs.pooled) names.push(MOBILENET_POOLED_NODE);
    if (names.length === 0) return {};
    const out = this.model.execute(x, names) as Tensor | Tensor[];
    const list = Array.isArray(out) ? out : [out];
    const result: BackboneResult = {};
    let i = 0;
    if (outputs.featureMap) result.featureMap = list[i++] as Tensor4D;
    if (outputs.pooled) result.pooled = list[i++] as Tensor2D;
    return result;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Copy of the topology with the input placeholder accepting any spatial size. */
function relaxInputShape(topology: { node: GraphNode[] }): { node: GraphNode[] } {
  const copy = structuredClone(topology);
  const input = copy.node.find((n) => n.op === 'Placeholder');
  const dims = input?.attr?.shape?.shape?.dim;
  if (!dims || dims.length !== 4) throw new Error('backbone graph: input placeholder with a 4-d shape not found');
  dims[1] = { size: '-1' };
  dims[2] = { size: '-1' };
  return copy;
}

/**
 * The node feeding the global pool (SpatialSqueeze <- AvgPool <- feature map): checked against the
 * constant so a changed graph is caught at load time rather than producing wrong codes.
 */
export function findPoolInput(nodes: GraphNode[]): string {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const squeeze = byName.get(MOBILENET_POOLED_NODE);
  const pool = squeeze && byName.get(inputName(squeeze));
  if (!pool || !/Pool|Mean/.test(pool.op)) throw new Error('backbone graph: global pool node not found');
  const fmap = inputName(pool);
  if (fmap !== MOBILENET_FEATURE_MAP_NODE) throw new Error(`backbone graph: pool is fed by ${fmap}, expected ${MOBILENET_FEATURE_MAP_NODE}`);
  return fmap;
}

function inputName(n: GraphNode): string {
  return (n.input?.[0] ?? '').replace(/^\^/, '').split(':')[0];
}
