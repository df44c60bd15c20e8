import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  bytesToHex,
  createLogger,
  DEFAULT_MODEL,
  initRuntime,
  loadHashModel,
  planViews,
  prepareImage,
  type IndexJob,
  type QueryPlan,
  type QueryViewCode,
} from '../../packages/shared/src/index.ts';
import { answerAsChild, resultOfChild } from './child-result.ts';
import { SAMPLES, samplePhotos, sampleQueries, type SampleQuery } from './sample-queries.ts';

/** The samples as the indexer receives them, and each sample query's view codes, by the real model. */
export interface EncodedSamples {
  model: string;
  bits: number;
  queryPlan: QueryPlan;
  /** One upsert job per sample (key = its file name). */
  jobs: Extract<IndexJob, { op: 'upsert' }>[];
  queries: (Omit<SampleQuery, 'bytes'> & { codes: QueryViewCode[] })[];
}

const LIMITS = { maxBytes: 2 ** 31, maxPixels: 2 ** 31 };

/** Encodes samples/ and its queries (sampleQueries) with `modelRef` on the default runtime, in this process. */
export async function encodeSamples(modelRef = DEFAULT_MODEL): Promise<EncodedSamples> {
  const log = createLogger('bench', 'warn');
  await initRuntime(undefined, log); // LOUPE_RUNTIME etc. from the environment, as the services
  const model = await loadHashModel(modelRef, { logger: log });
  const jobs: EncodedSamples['jobs'] = [];
  for (const name of samplePhotos()) {
    const { canonical, width, height } = await prepareImage(await readFile(path.join(SAMPLES, name)), LIMITS, model.plan);
    const [codes] = await model.encode([{ image: canonical, width, height, views: planViews(model.plan, width, height) }]);
    const views = codes.map((c) => ({ level: c.level, index: c.index, box: c.box, code: bytesToHex(c.code) }));
    jobs.push({ op: 'upsert', key: name, etag: `"${name}"`, width, height, model: model.id, bits: model.bits, views });
  }
  const queries: EncodedSamples['queries'] = [];
  for (const q of await sampleQueries()) {
    const { canonical, width, height } = await prepareImage(q.bytes, LIMITS, model.plan);
    queries.push({ name: q.name, kind: q.kind, codes: await model.encodeQuery({ image: canonical, width, height }) });
  }
  return { model: model.id, bits: model.bits, queryPlan: model.queryPlan, jobs, queries };
}

/**
 * encodeSamples in a child process, so the caller's memory (a benchmark measuring the searchers'
 * RSS) never holds the CNN and its runtime.
 */
export function encodeSamplesInChild(modelRef = DEFAULT_MODEL): Promise<EncodedSamples> {
  return resultOfChild(import.meta.url, [modelRef]);
}

await answerAsChild(import.meta.url, ([modelRef]) => encodeSamples(modelRef));
