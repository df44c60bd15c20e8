import type { Logger } from '../../log/logger.ts';
import type { Backbone } from '../backbone/backbone.ts';
import { BackboneLoader } from '../backbone/backbone-loader.ts';
import { OnnxMobileNetBackbone } from '../backbone/onnx-mobilenet-backbone.ts';
import { cachedOnnxBackbone } from '../onnx/onnx-model-cache.ts';
import { OnnxGraphBuilder } from '../onnx/onnx-graph-builder.ts';
import { affineDims, type AffineMap, type InferenceRuntime } from './inference-runtime.ts';

export type OnnxModule = typeof import('onnxruntime-node');

export interface OnnxRuntimeOptions {
  threads: number;
  /** LOUPE_DATA_DIR: where the converted backbone is cached. */
  dataDir: string;
  logger: Logger;
}

/**
 * ONNX Runtime (onnxruntime-node, CPU binaries from the npm package): the backbone converted from
 * the TF.js graph on first use, heads as one Gemm each. Sessions run sequentially on `threads`
 * intra-op threads: processes, not threads, are how encoders scale.
 */
export class OnnxInferenceRuntime implements InferenceRuntime {
  readonly name = 'onnx' as const;
  private readonly backbones = new BackboneLoader(async () =>
    new OnnxMobileNetBackbone(this.ort, await this.session(await cachedOnnxBackbone(this.options.dataDir, this.options.logger))),
  );

  private constructor(
    private readonly ort: OnnxModule,
    private readonly options: OnnxRuntimeOptions,
  ) {}

  get threads(): number {
    return this.options.threads;
  }

  /** Loads the native binding; throws when it does not load on this platform. */
  static async create(options: OnnxRuntimeOptions): Promise<OnnxInferenceRuntime> {
    const ort = (await import('onnxruntime-node')) as OnnxModule & { default?: OnnxModule };
    const runtime = new OnnxInferenceRuntime(ort.default ?? ort, options);
    // A tiny session proves the binding works before anything depends on it.
    await runtime.session(identityModel());
    return runtime;
  }

  loadBackbone(id: string): Promise<Backbone> {
    return this.backbones.load(id);
  }

  affine(weight: Float32Array, offset: Float32Array): AffineMap {
    const [inDim, outDim] = affineDims(weight, offset);
    const g = new OnnxGraphBuilder('affine');
    const x = g.input('x', ['rows', inDim]);
    const y = g.node('Gemm', [x, g.initializer('weight', [outDim, inDim], weight), g.initializer('offset', [outDim], offset)], 'y', { transB: 1 });
    g.output(y, ['rows', outDim]);
    const session = this.session(g.encode('loupe head'));
    session.catch(() => undefined); // surfaced by apply()
    return {
      apply: async (rows: Float32Array, n: number) => {
        const out = await (await session).run({ x: new this.ort.Tensor('float32', rows, [n, inDim]) });
        return out.y.data as Float32Array;
      },
    };
  }

  private session(bytes: Uint8Array) {
    return this.ort.InferenceSession.create(bytes, {
      intraOpNumThreads: this.options.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Helper threads sleep between runs instead of spinning: they share cores with other work.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  }
}

/** y = x for a [1] input: the smallest model that exercises the binding. */
function identityModel(): Uint8Array {
  const g = new OnnxGraphBuilder('probe');
  g.output(g.node('Identity', [g.input('x', [1])], 'y'), [1]);
  return g.encode('loupe probe');
}
