import { decodeCanonical, type EncodeInput, type HashModel } from '@loupe/shared';

export type StageTimes = Record<string, number>;

/**
 * Where one model's encode spends its time, ms an image: the canonical JPEG decode, the backbone
 * forwards, the hash head's products, the perceptual (dct) code, and the rest (backbone inputs
 * made from the raster, region and cell pooling, batching). Measured by timing those calls of
 * this model instance (its methods wrapped for the run, then restored) over `inputs` in batches.
 */
export async function stageProfile(model: HashModel, inputs: EncodeInput[], batch: number): Promise<StageTimes> {
  const times = { decode: 0, forwards: 0, head: 0, dct: 0 };
  const timed = <A extends unknown[], R>(stage: keyof typeof times, f: (...a: A) => R) => (...a: A): R => {
    const t0 = performance.now();
    const r = f(...a);
    if (r instanceof Promise) return r.finally(() => (times[stage] += performance.now() - t0)) as R;
    times[stage] += performance.now() - t0;
    return r;
  };
  const backbone = model.extractor.backbone;
  const restore = [
    wrap(backbone, 'featureMaps', (f) => timed('forwards', f)),
    wrap(model, 'hashDescriptors', (f) => timed('head', f)),
    wrap(model, 'pixelLevelCode', (f) => timed('dct', f)),
  ];
  let total = 0;
  try {
    for (let i = 0; i < inputs.length; i += batch) {
      const chunk = inputs.slice(i, i + batch);
      const d0 = performance.now();
      const rasters = await Promise.all(chunk.map((c) => decodeCanonical(c.image as Buffer)));
      times.decode += performance.now() - d0;
      const t0 = performance.now();
      await model.encode(chunk.map((c, k) => ({ ...c, image: rasters[k] })));
      total += performance.now() - t0;
    }
  } finally {
    restore.forEach((r) => r());
  }
  const n = inputs.length;
  const rest = total - times.forwards - times.head - times.dct;
  return {
    'canonical decode': times.decode / n,
    'backbone forwards': times.forwards / n,
    'hash head': times.head / n,
    'dct code': times.dct / n,
    'inputs, pooling, rest': rest / n,
    'total': (total + times.decode) / n,
  };
}

/** Replaces obj[name] on the instance with a wrapper; returns what puts it back. */
function wrap<T extends object, K extends keyof T>(obj: T, name: K, wrapper: (f: T[K]) => T[K]): () => void {
  const own = Object.prototype.hasOwnProperty.call(obj, name);
  const original = obj[name];
  obj[name] = wrapper((original as (...a: unknown[]) => unknown).bind(obj) as T[K]);
  return () => {
    if (own) obj[name] = original;
    else delete obj[name];
  };
}
