import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeArtifact, ModelArtifactHeaderSchema, type ModelArtifact } from '../artifact/model-artifact.ts';
import { builtinArtifact } from './builtin-models.ts';

/**
 * Trained models shipped with Loupe (packages/shared/models), loaded by a builtin id. Each file's
 * digest is pinned: codes carry the id, so a retrained file must come with a new id.
 *
 *   builtin:mobilenetv2-copy256-p448c5-cells64-dct — the default: the head below
 *   on builtin:mobilenetv2-rp256-p448c5-cells64-dct's views (the same views plus a cell level of
 *   64-bit codes, and a query plan that verifies its top candidates cell by cell and, with
 *   thumbnails the query service makes from the bucket's images, pixel by pixel; no file of its own).
 *   builtin:mobilenetv2-copy256-p448c5-cells64-px64-dct — an earlier default: the same with
 *   each image's 64x64 grey thumbnail kept in the index (4 kB an image), for query services that
 *   cannot read the bucket and for the indexes made with it.
 *   builtin:mobilenetv2-copy256-p448c5-dct — the default before: builtin:mobilenetv2-rp256-p448c5-dct's views
 *   and descriptors (with the 5-cell regions a 10% crop is found in), with a linear head trained by
 *   `loupe train --method pairs` on augmented copies of 285 images from Debian packages
 *   (bench/datasets/copy-training-images.ts), none of them a benchmark photo.
 *   builtin:mobilenetv2-copy256-p448-dct — an earlier default: the same training set on
 *   builtin:mobilenetv2-rp256-p448-dct's views (no 5-cell regions), kept for the indexes made with it.
 * Measured in docs/benchmarks.md ("A head trained on other images", "Finer paired regions"). Each file is what `loupe train`
 * wrote, with the header's id set to the shipped id (its meta keeps the trained id, command and
 * sampled keys).
 */
const SHIPPED: Record<string, { file: string; sha256: string; untrained: string } | { headOf: string; untrained: string }> = {
  'builtin:mobilenetv2-copy256-p448c5-cells64-px64-dct': {
    headOf: 'builtin:mobilenetv2-copy256-p448c5-dct',
    untrained: 'builtin:mobilenetv2-rp256-p448c5-cells64-px64-dct',
  },
  'builtin:mobilenetv2-copy256-p448c5-cells64-dct': {
    // The trained head codes cells as it codes regions: each cell is a normalised 1792-d descriptor.
    headOf: 'builtin:mobilenetv2-copy256-p448c5-dct',
    untrained: 'builtin:mobilenetv2-rp256-p448c5-cells64-dct',
  },
  'builtin:mobilenetv2-copy256-p448c5-dct': {
    file: 'mobilenetv2-copy256-p448c5-dct.loupe',
    untrained: 'builtin:mobilenetv2-rp256-p448c5-dct',
    sha256: 'd4f8afef1a31406a41a827b85bac253559bbf09371d525d8ee86c04ade5e80d6',
  },
  'builtin:mobilenetv2-copy256-p448-dct': {
    file: 'mobilenetv2-copy256-p448-dct.loupe',
    // The builtin it was trained from: same views, descriptors and head shape, random projection.
    untrained: 'builtin:mobilenetv2-rp256-p448-dct',
    sha256: 'cb675ab6f14f4cc17e0bc7e21935deb6a54862d76764a9250a108020f19a1947',
  },
};

export const SHIPPED_MODEL_IDS = Object.keys(SHIPPED);

export function isShippedModel(id: string): boolean {
  return id in SHIPPED;
}

/** The untrained builtin a shipped model was trained from (same forwards, same cost); other ids as they are. */
export function untrainedModel(id: string): string {
  return SHIPPED[id]?.untrained ?? id;
}

export async function shippedArtifact(id: string): Promise<ModelArtifact> {
  const entry = SHIPPED[id];
  if (!entry) throw new Error(`no shipped model "${id}" (shipped: ${SHIPPED_MODEL_IDS.join(', ')})`);
  if ('headOf' in entry) return withHeadOf(id, await shippedArtifact(entry.headOf), builtinArtifact(entry.untrained));
  const bytes = await readFile(new URL(`../../../models/${entry.file}`, import.meta.url));
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== entry.sha256) throw new Error(`shipped model ${id}: ${entry.file} has sha256 ${digest}, expected ${entry.sha256} (a changed head needs a new id)`);
  const artifact = decodeArtifact(bytes);
  if (artifact.header.id !== id) throw new Error(`shipped model ${id}: ${entry.file} says it is ${artifact.header.id}`);
  return artifact;
}

/** The trained head of `trained` on the views, descriptors and default query plan of the untrained builtin `views`. */
function withHeadOf(id: string, trained: ModelArtifact, views: ModelArtifact): ModelArtifact {
  const { plan, descriptor } = views.header;
  if (views.header.head.inDim !== trained.header.head.inDim || views.header.backbone !== trained.header.backbone) {
    throw new Error(`shipped model ${id}: the head of ${trained.header.id} does not fit ${views.header.id}`);
  }
  const header = ModelArtifactHeaderSchema.parse({
    ...trained.header,
    id,
    plan,
    descriptor,
    query: undefined,
    meta: { ...trained.header.meta, headOf: trained.header.id, viewsOf: views.header.id },
  });
  return { header, tensors: trained.tensors };
}
