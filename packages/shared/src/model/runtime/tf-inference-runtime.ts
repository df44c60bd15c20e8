import type { Tensor2D } from '@tensorflow/tfjs';
import type { Backbone } from '../backbone/backbone.ts';
import { BackboneLoader } from '../backbone/backbone-loader.ts';
import { NsfwjsMobileNetBackbone } from '../backbone/nsfwjs-mobilenet-backbone.ts';
import { affineDims, type AffineMap, type InferenceRuntime } from './inference-runtime.ts';
import type { TfRuntime } from './tf-runtime.ts';

/** TensorFlow.js as an inference runtime: tfjs-node (libtensorflow) or its WebAssembly backend. */
export class TfInferenceRuntime implements InferenceRuntime {
  readonly name;
  readonly threads = 1;
  private readonly backbones = new BackboneLoader(() => NsfwjsMobileNetBackbone.load(this.runtime.tf));

  constructor(private readonly runtime: TfRuntime) {
    this.name = runtime.backend === 'tensorflow' ? ('tfjs-node' as const) : ('wasm' as const);
  }

  loadBackbone(id: string): Promise<Backbone> {
    return this.backbones.load(id);
  }

  affine(weight: Float32Array, offset: Float32Array): AffineMap {
    const { tf } = this.runtime;
    const [inDim, outDim] = affineDims(weight, offset);
    // Uploaded once: moving 1792 x 256 weights costs as much as the product.
    const w = tf.keep(tf.tensor2d(weight, [outDim, inDim]));
    const b = tf.keep(tf.tensor1d(offset));
    return {
      apply: async (rows: Float32Array, n: number) => {
        const y = tf.tidy(() => tf.matMul(tf.tensor2d(rows, [n, inDim]), w, false, true).add(b) as Tensor2D);
        try {
          return (await y.data()) as Float32Array;
        } finally {
          y.dispose();
        }
      },
    };
  }
}
