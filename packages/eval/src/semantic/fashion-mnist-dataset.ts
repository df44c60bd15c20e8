import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readIdx } from './idx-reader.ts';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** One split: `count` 28x28 grey images back to back, and one label (0..9) per image. */
export interface GreyImageSet {
  count: number;
  side: number;
  pixels: Uint8Array;
  labels: Uint8Array;
}

export interface FashionMnist {
  dir: string;
  train: GreyImageSet;
  test: GreyImageSet;
}

/** $LOUPE_DATASETS/fashion-mnist, else ~/.cache/loupe-datasets/fashion-mnist (see datasets/fetch.sh). */
export function fashionMnistDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.LOUPE_DATASETS || path.join(os.homedir(), '.cache', 'loupe-datasets');
  return path.join(root, 'fashion-mnist');
}

export function hasFashionMnist(dir = fashionMnistDir()): boolean {
  return ['train', 't10k'].every((s) => existsSync(path.join(dir, `${s}-images-idx3-ubyte.gz`)) && existsSync(path.join(dir, `${s}-labels-idx1-ubyte.gz`)));
}

export async function loadFashionMnist(dir = fashionMnistDir()): Promise<FashionMnist> {
  if (!hasFashionMnist(dir)) throw new Error(`Fashion-MNIST IDX files not found in ${dir} (set LOUPE_DATASETS or run datasets/fetch.sh)`);
  const [train, test] = await Promise.all([loadSplit(dir, 'train'), loadSplit(dir, 't10k')]);
  return { dir, train, test };
}

async function loadSplit(dir: string, split: 'train' | 't10k'): Promise<GreyImageSet> {
  const images = await readIdx(path.join(dir, `${split}-images-idx3-ubyte.gz`));
  const labels = await readIdx(path.join(dir, `${split}-labels-idx1-ubyte.gz`));
  const [count, rows, cols] = images.dims;
  if (images.dims.length !== 3 || rows !== cols) throw new Error(`${split} images: unexpected IDX shape [${images.dims}]`);
  if (labels.dims[0] !== count) throw new Error(`${split}: ${count} images but ${labels.dims[0]} labels`);
  return { count, side: rows, pixels: images.data, labels: labels.data };
}
