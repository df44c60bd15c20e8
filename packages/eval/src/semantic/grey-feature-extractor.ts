import { gridCells, l2Normalize, type Backbone, type Tf } from '@loupe/shared';
import type { GreyImageSet } from './fashion-mnist-dataset.ts';

export interface GreyFeatureOptions {
  /** Backbone input side; the 28x28 images are upsampled to it (bilinear). */
  side: number;
  /** 255 - v: dark garment on a white ground, closer to a product photo than the raw white-on-black. */
  invert: boolean;
  /** Background pixels added on each side before upsampling (the garments fill the 28x28 frame). */
  pad?: number;
  /** Mirror left-right (training-set augmentation). */
  flip?: boolean;
  /** Pooling of the feature-map cells (as DescriptorConfig.pooling); avg by default. */
  pooling?: 'avg' | 'max' | 'gem';
  /**
   * Split the feature map into grid x grid parts (as gridCells) and return each part's mean (avg
   * pooling only), unnormalised, row-major [n, grid * grid * dim]: the layout-keeping descriptor
   * before concatNormalized; the global one is their mean.
   */
  grid?: number;
  /** Images per forward (activation budget). */
  batch?: number;
  /** Called after each batch with the number of images done. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Global descriptors of small grey images: replicated to RGB, upsampled to `side`, the backbone's
 * feature map averaged over its cells and L2-normalised — the same descriptor a Loupe model's
 * global view gets from an rmac forward at that side with avg pooling.
 */
export class GreyFeatureExtractor {
  constructor(
    /** TF.js, for resampling and pooling. */
    private readonly tf: Tf,
    /** The backbone, on whichever inference runtime the process chose. */
    private readonly backbone: Backbone,
  ) {}

  get dim(): number {
    return this.backbone.dim;
  }

  /** Floats per image of `describe` with these options. */
  width(opts: Pick<GreyFeatureOptions, 'grid'>): number {
    return (opts.grid ?? 1) ** 2 * this.dim;
  }

  /** Descriptors of images [from, to) of `set`, row-major [n, dim]. */
  async describe(set: GreyImageSet, from: number, to: number, opts: GreyFeatureOptions): Promise<Float32Array> {
    const { tf } = this;
    const s = set.side;
    const px = s * s;
    const width = this.width(opts);
    const grid = opts.grid ?? 1;
    const out = new Float32Array((to - from) * width);
    const batch = opts.batch ?? Math.max(1, Math.floor((16 * 224 * 224) / (opts.side * opts.side)));
    for (let i = from; i < to; i += batch) {
      const n = Math.min(batch, to - i);
      const floats = new Float32Array(n * px);
      for (let k = 0; k < n * px; k++) {
        const v = set.pixels[i * px + k];
        floats[k] = (opts.invert ? 255 - v : v) / 255;
      }
      const rgb = tf.tidy(() => {
        const raw = tf.tensor4d(floats, [n, s, s, 1]);
        const flipped = opts.flip ? tf.reverse(raw, 2) : raw;
        const pad = opts.pad ?? 0;
        const grey = pad > 0 ? tf.pad(flipped, [[0, 0], [pad, pad], [pad, pad], [0, 0]], opts.invert ? 1 : 0) : flipped;
        return tf.tile(tf.image.resizeBilinear(grey, [opts.side, opts.side], false, true), [1, 1, 1, 3]);
      });
      const input = (await rgb.data()) as Float32Array;
      rgb.dispose();
      // The forward runs on the backbone's own runtime; pooling stays on TF.js.
      const f = this.backbone.featureMapSide(opts.side);
      const maps = await this.backbone.featureMaps(input, n, opts.side);
      const pooled = tf.tidy(() => {
        const map = tf.tensor4d(maps, [n, f, f, this.dim]);
        if (grid > 1) return gridMeans(tf, map, grid);
        if (opts.pooling === 'max') return tf.max(map, [1, 2]);
        // GeM, p = 3 as in region-pooling.ts (the map is post-ReLU6, so already >= 0)
        if (opts.pooling === 'gem') return tf.pow(tf.mean(tf.pow(map, 3), [1, 2]), 1 / 3);
        return tf.mean(map, [1, 2]);
      });
      const data = (await pooled.data()) as Float32Array;
      pooled.dispose();
      if (grid > 1) out.set(data, (i - from) * width);
      else for (let k = 0; k < n; k++) out.set(l2Normalize(data.slice(k * this.dim, (k + 1) * this.dim)), (i - from + k) * this.dim);
      opts.onProgress?.(i - from + n, to - from);
    }
    return out;
  }
}

/** Means of the grid x grid parts of a [n, h, w, c] map, split as gridCells does, [n, grid^2 * c]. */
function gridMeans(tf: Tf, map: import('@tensorflow/tfjs').Tensor4D, grid: number) {
  const [, h, w] = map.shape;
  const cells = gridCells({ r0: 0, r1: h, c0: 0, c1: w }, grid);
  return tf.concat(cells.map((c) => tf.mean(tf.slice(map, [0, c.r0, c.c0, 0], [-1, c.r1 - c.r0, c.c1 - c.c0, -1]), [1, 2])), 1);
}
