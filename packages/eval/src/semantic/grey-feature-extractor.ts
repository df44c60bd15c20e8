import { appendFileSync, existsSync, readFileSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { l2Normalize, type Backbone, type Tf } from '@loupe/shared';
import type { GreyImageSet } from './fashion-mnist-dataset.ts';

export interface GreyFeatureOptions {
  /** Backbone input side; the 28x28 images are upsampled to it (bilinear). */
  side: number;
  /** 255 - v: dark garment on a white ground, closer to a product photo than the raw white-on-black. */
  invert: boolean;
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
    private readonly tf: Tf,
    private readonly backbone: Backbone,
  ) {}

  get dim(): number {
    return this.backbone.dim;
  }

  /** Descriptors of images [from, to) of `set`, row-major [n, dim]. */
  async describe(set: GreyImageSet, from: number, to: number, opts: GreyFeatureOptions): Promise<Float32Array> {
    const { tf } = this;
    const s = set.side;
    const px = s * s;
    const out = new Float32Array((to - from) * this.dim);
    const batch = opts.batch ?? Math.max(1, Math.floor((16 * 224 * 224) / (opts.side * opts.side)));
    for (let i = from; i < to; i += batch) {
      const n = Math.min(batch, to - i);
      const floats = new Float32Array(n * px);
      for (let k = 0; k < n * px; k++) {
        const v = set.pixels[i * px + k];
        floats[k] = (opts.invert ? 255 - v : v) / 255;
      }
      const pooled = tf.tidy(() => {
        const grey = tf.tensor4d(floats, [n, s, s, 1]);
        const rgb = tf.tile(tf.image.resizeBilinear(grey, [opts.side, opts.side], false, true), [1, 1, 1, 3]);
        const map = this.backbone.forward(rgb as typeof grey, { featureMap: true }).featureMap!;
        return tf.mean(map, [1, 2]);
      });
      const data = (await pooled.data()) as Float32Array;
      pooled.dispose();
      for (let k = 0; k < n; k++) out.set(l2Normalize(data.slice(k * this.dim, (k + 1) * this.dim)), (i - from + k) * this.dim);
      opts.onProgress?.(i - from + n, to - from);
    }
    return out;
  }
}

/**
 * Descriptors of a whole split, cached as raw float32 [count, dim] at `file`. The file grows by
 * chunks as they are computed, so an interrupted run resumes where it stopped.
 */
export async function cachedFeatures(
  extractor: GreyFeatureExtractor,
  set: GreyImageSet,
  file: string,
  opts: GreyFeatureOptions & { chunk?: number },
): Promise<Float32Array> {
  const rowBytes = extractor.dim * 4;
  let done = 0;
  if (existsSync(file)) {
    const size = statSync(file).size;
    done = Math.min(set.count, Math.floor(size / rowBytes));
    if (size !== done * rowBytes) truncateSync(file, done * rowBytes); // a torn last write
  }
  const chunk = opts.chunk ?? 2048;
  while (done < set.count) {
    const to = Math.min(set.count, done + chunk);
    const base = done;
    const feats = await extractor.describe(set, done, to, { ...opts, onProgress: (d) => opts.onProgress?.(base + d, set.count) });
    appendFileSync(file, Buffer.from(feats.buffer, feats.byteOffset, feats.byteLength));
    done = to;
  }
  const bytes = readFileSync(file);
  if (bytes.length !== set.count * rowBytes) throw new Error(`${path.basename(file)}: ${bytes.length} bytes, expected ${set.count * rowBytes}`);
  return bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : new Float32Array(new Uint8Array(bytes).buffer);
}
