import type { GraphModel, Tensor4D } from '@tensorflow/tfjs';
import type { Tf } from '../runtime/tf-runtime.ts';
import type { Backbone } from './backbone.ts';
import { readNsfwjsBundle, type GraphNode } from './nsfwjs-bundle.ts';

const PREFIX =
  'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/';
/** Global average pool (AvgPool 7x7 VALID + squeeze), [N, 1792]; only valid for 224x224 input. */
export const MOBILENET_POOLED_NODE = `${PREFIX}feature_vector/SpatialSqueeze`;
/** The last conv block (1x1 conv to 1792 channels, ReLU6) that feeds the pool: [N, S/32, S/32, 1792]. */
export const MOBILENET_FEATURE_MAP_NODE = `${PREFIX}MobilenetV2/Conv_1/Relu6`;

/** The bundled MobileNetV2's identity and shape, whichever runtime runs it. */
export const MOBILENET = { id: 'nsfwjs:mobilenet_v2_mid', dim: 1792, nativeSide: 224, featureMapSide: (side: number) => Math.ceil(side / 32) } as const;

/**
 * MobileNetV2-1.4 (ImageNet features, fine-tuned by nsfwjs) bundled in the nsfwjs package as base64
 * JS modules, run on TensorFlow.js (tfjs-node or wasm). Weights are uint8-quantised in the bundle
 * and dequantised to float32 on load (~17 MB).
 *
 * The graph's input placeholder is declared [-1, 224, 224, 3] and GraphModel.execute rejects other
 * sizes, but everything up to Conv_1/Relu6 is convolutional (SAME padding). Loading with the
 * placeholder relaxed to [-1, -1, -1, 3] lets a 448 input yield a 14x14 map.
 */
export class NsfwjsMobileNetBackbone implements Backbone {
  static readonly ID = MOBILENET.id;
  readonly id = MOBILENET.id;
  readonly dim = MOBILENET.dim;
  readonly nativeSide = MOBILENET.nativeSide;

  private constructor(
    private readonly tf: Tf,
    private readonly model: GraphModel,
  ) {}

  static async load(tf: Tf): Promise<NsfwjsMobileNetBackbone> {
    const bundle = await readNsfwjsBundle();
    findPoolInput(bundle.topology.node); // fails loudly if a new nsfwjs renames the nodes
    const { weightData: w } = bundle;
    const model = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: { ...bundle.topology, node: relaxInputShape(bundle.topology.node) },
        format: bundle.format,
        weightSpecs: bundle.weightSpecs as never,
        weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength),
      }),
    );
    return new NsfwjsMobileNetBackbone(tf, model);
  }

  featureMapSide(side: number): number {
    return MOBILENET.featureMapSide(side);
  }

  async featureMaps(input: Float32Array, n: number, side: number): Promise<Float32Array> {
    const map = this.tf.tidy(() => this.model.execute(this.tf.tensor4d(input, [n, side, side, 3]), MOBILENET_FEATURE_MAP_NODE) as Tensor4D);
    try {
      return (await map.data()) as Float32Array;
    } finally {
      map.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Copy of the graph with the input placeholder accepting any spatial size. */
function relaxInputShape(nodes: GraphNode[]): GraphNode[] {
  const copy = structuredClone(nodes);
  const input = copy.find((n) => n.op === 'Placeholder');
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
