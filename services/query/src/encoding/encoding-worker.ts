import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { CandidateVerifier, createLogger, initRuntime, loadHashModel, type HashModel } from '@loupe/shared';
import { prepareQuery } from './query-image.ts';
import type { EncodingTask, EncodingWorkerData, ToEncodingWorker, WireError } from './encoding-protocol.ts';

// A query encoding thread: the query's CNN forwards, head and candidate check run here, off the
// query service's event loop (ONNX Runtime's run() holds the thread it is called on). One task at a
// time; models are loaded once per thread.

/** Niceness of encoding threads (0 normal, 19 lowest). */
const ENCODING_THREAD_NICENESS = 10;

const data = workerData as EncodingWorkerData;
const log = createLogger('query-encoder', data.logLevel as never);
lowerThreadPriority();
const port = parentPort!;
/** A model this thread encodes with, and the candidate check of its plan (none without a cell level). */
interface Loaded {
  model: HashModel;
  verifier?: CandidateVerifier;
}

const models = new Map<string, Promise<Loaded>>();
const runtime = initRuntime(data.runtime, log);

function load(ref: string): Promise<Loaded> {
  let m = models.get(ref);
  if (!m) {
    m = runtime.then(async () => {
      const model = await loadHashModel(ref, { logger: log });
      return { model, verifier: CandidateVerifier.forPlan(model.bits, model.plan, model.queryPlan.verify) };
    });
    models.set(ref, m);
    m.catch(() => models.delete(ref));
  }
  return m;
}

async function run(task: EncodingTask): Promise<unknown> {
  const { model: m, verifier } = await load(task.modelRef);
  switch (task.type) {
    case 'load':
      return { id: m.id, runtime: m.runtime, queryPlan: m.queryPlan };
    case 'encode': {
      const { canonical, width, height } = task.image instanceof Uint8Array ? await prepareQuery(asBuffer(task.image), data.limits, m.plan) : task.image;
      const plan = m.queryPlan;
      // A part of the plan: its views, and the query's pixels (QueryPlan.verify) only if asked.
      const part = task.views ? { ...plan, views: task.views.map((i) => plan.views[i]), verify: task.pixels === false ? undefined : plan.verify } : plan;
      return m.encodeQuery({ image: asBuffer(canonical), width, height }, part);
    }
    case 'rerank': {
      if (!verifier) throw new Error(`model ${m.id} has no candidate check`);
      if (task.only === 'cells') return verifier.rerankByCells(task.hits, task.evidence, task.cells);
      if (task.only === 'pixels') return verifier.adjustByPixels(task.hits, task.evidence, task.thumbs);
      return verifier.rerank(task.hits, task.evidence, task.cells, task.thumbs);
    }
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Runs this thread (and the runtime threads it starts) at a lower priority, so that on a loaded
 * host the event loop and the shard searchers — key and code searches, the fan-out — get the CPU
 * first. Linux only: /proc/thread-self names this thread's id, which setpriority takes.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, ENCODING_THREAD_NICENESS);
  } catch (e) {
    log.debug({ err: String(e) }, 'encoding thread priority left as it is');
  }
}

port.on('message', ({ id, task }: ToEncodingWorker) => {
  run(task).then(
    (result) => port.postMessage({ id, result }),
    (e: Error & { reason?: string }) => {
      const error: WireError = { name: e.name ?? 'Error', message: e.message ?? String(e), ...(e.reason ? { reason: e.reason } : {}) };
      port.postMessage({ id, error });
    },
  );
});
