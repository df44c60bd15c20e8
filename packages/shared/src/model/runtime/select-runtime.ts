import { loadConfig, type LoupeConfig } from '../../config/config.ts';
import { createLogger, type Logger } from '../../log/logger.ts';
import type { InferenceRuntime, RuntimeName } from './inference-runtime.ts';
import { OnnxInferenceRuntime } from './onnx-inference-runtime.ts';
import { TfInferenceRuntime } from './tf-inference-runtime.ts';
import { initTf } from './tf-runtime.ts';

export interface RuntimeSettings {
  /** LOUPE_RUNTIME */
  runtime: 'auto' | RuntimeName;
  /** LOUPE_RUNTIME_THREADS */
  threads: number;
  /** LOUPE_DATA_DIR (the converted ONNX backbone is cached there) */
  dataDir: string;
}

export function runtimeSettings(config: Pick<LoupeConfig, 'LOUPE_RUNTIME' | 'LOUPE_RUNTIME_THREADS' | 'LOUPE_DATA_DIR'>): RuntimeSettings {
  return { runtime: config.LOUPE_RUNTIME, threads: config.LOUPE_RUNTIME_THREADS, dataDir: config.LOUPE_DATA_DIR };
}

/** The runtimes tried for a setting, in order: the fastest that loads wins. */
export function runtimeOrder(choice: RuntimeSettings['runtime']): RuntimeName[] {
  if (choice === 'wasm') return ['wasm'];
  if (choice === 'tfjs-node') return ['tfjs-node', 'wasm'];
  return ['onnx', 'tfjs-node', 'wasm'];
}

let selected: Promise<InferenceRuntime> | undefined;

/**
 * The process's inference runtime, chosen once (the first call's settings win; later calls get
 * the same runtime, so every code a process makes comes from one runtime). Without settings they
 * come from the environment (LOUPE_RUNTIME, LOUPE_RUNTIME_THREADS, LOUPE_DATA_DIR).
 */
export function initRuntime(settings?: RuntimeSettings, logger: Logger = createLogger('model')): Promise<InferenceRuntime> {
  selected ??= chooseRuntime(settings ?? runtimeSettings(loadConfig()), logger).catch((e) => {
    selected = undefined;
    throw e;
  });
  return selected;
}

async function chooseRuntime(settings: RuntimeSettings, logger: Logger): Promise<InferenceRuntime> {
  const t0 = performance.now();
  const order = runtimeOrder(settings.runtime);
  for (const name of order) {
    try {
      const runtime = await loadRuntime(name, settings, logger);
      if (runtime.name !== name) {
        // TF.js fell back from tfjs-node to its wasm backend by itself.
        logger.warn({ wanted: name, using: runtime.name }, `inference runtime ${name} did not load: falling back to ${runtime.name}`);
      }
      logger.info({ runtime: runtime.name, threads: runtime.threads, setting: settings.runtime, initMs: Math.round(performance.now() - t0) }, `inference runtime: ${runtime.name}`);
      return runtime;
    } catch (e) {
      const next = order[order.indexOf(name) + 1];
      if (!next) throw e;
      logger.warn({ wanted: name, next, err: String(e).slice(0, 300) }, `inference runtime ${name} did not load: falling back to ${next}`);
    }
  }
  throw new Error('no inference runtime');
}

async function loadRuntime(name: RuntimeName, settings: RuntimeSettings, logger: Logger): Promise<InferenceRuntime> {
  if (name === 'onnx') return OnnxInferenceRuntime.create({ threads: settings.threads, dataDir: settings.dataDir, logger });
  return new TfInferenceRuntime(await initTf(logger, { tfjsNode: name === 'tfjs-node' }));
}
