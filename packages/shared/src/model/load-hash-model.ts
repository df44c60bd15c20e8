import { createLogger, type Logger } from '../log/logger.ts';
import { readArtifact } from './artifact/artifact-store.ts';
import type { ModelArtifact } from './artifact/model-artifact.ts';
import { builtinArtifact, isBuiltinModel } from './builtin/builtin-models.ts';
import { isShippedModel, shippedArtifact } from './builtin/shipped-models.ts';
import { ViewDescriptorExtractor } from './descriptor/view-descriptor-extractor.ts';
import { createHead } from './head/create-head.ts';
import { HashModel } from './hash-model.ts';
import type { InferenceRuntime } from './runtime/inference-runtime.ts';
import { initRuntime } from './runtime/select-runtime.ts';

export interface LoadHashModelOptions {
  logger?: Logger;
  /** The runtime to run on; by default the process's (initRuntime). */
  runtime?: InferenceRuntime;
}

/**
 * Loads a hash model by URL (LOUPE_MODEL): `builtin:mobilenetv2-rp64` and friends (see
 * builtin-models.ts), a trained model shipped with Loupe (shipped-models.ts), or an artifact at file:///abs/path, /abs/path, ./rel/path or s3://bucket/key
 * (see artifact-store.ts). Chooses the process's inference runtime on first use (initRuntime).
 */
export async function loadHashModel(url: string, opts: LoadHashModelOptions = {}): Promise<HashModel> {
  const logger = opts.logger ?? createLogger('model');
  const t0 = performance.now();
  const model = await hashModelFromArtifact(await readModelArtifact(url), logger, opts.runtime);
  logger.info(
    { model: model.id, bits: model.bits, backbone: model.backbone, runtime: model.runtime, descriptor: model.descriptor, head: model.head.type, loadMs: Math.round(performance.now() - t0) },
    'hash model loaded',
  );
  return model;
}

/** The artifact behind a LOUPE_MODEL value (shipped, builtin or a file/S3 URL), without loading its backbone. */
export async function readModelArtifact(url: string): Promise<ModelArtifact> {
  return isShippedModel(url) ? shippedArtifact(url) : isBuiltinModel(url) ? builtinArtifact(url) : readArtifact(url);
}

export async function hashModelFromArtifact(artifact: ModelArtifact, logger: Logger = createLogger('model'), runtime?: InferenceRuntime): Promise<HashModel> {
  const { header, tensors } = artifact;
  runtime ??= await initRuntime(undefined, logger);
  const backbone = await runtime.loadBackbone(header.backbone);
  const extractor = new ViewDescriptorExtractor(runtime, backbone, header.descriptor);
  if (extractor.dim !== header.dims.descriptor) {
    throw new Error(`model ${header.id} expects ${header.dims.descriptor}-d descriptors, backbone ${backbone.id} gives ${extractor.dim}`);
  }
  const head = createHead(header.head, tensors);
  return new HashModel(header.id, header.plan, extractor, head, { createdAt: header.createdAt, meta: header.meta }, header.query);
}
