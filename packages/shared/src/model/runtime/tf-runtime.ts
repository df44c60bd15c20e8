import path from 'node:path';
import { createRequire } from 'node:module';
import type { Logger } from '../../log/logger.ts';
import { createLogger } from '../../log/logger.ts';

/** The TensorFlow.js namespace; tfjs-node re-exports the same API. */
export type Tf = typeof import('@tensorflow/tfjs');

export type TfBackendName = 'tensorflow' | 'wasm';

export interface TfRuntime {
  tf: Tf;
  backend: TfBackendName;
  /** Milliseconds spent importing TF.js and initialising the backend. */
  initMs: number;
}

let runtime: Promise<TfRuntime> | undefined;

/**
 * Loads TF.js once per process (training, and inference when LOUPE_RUNTIME ends on TF.js). tfjs is imported lazily (it costs ~0.7 s and ~90 MB), so services
 * that import @loupe/shared without running a model never pay for it.
 *
 * tfjs-node is an optional dependency whose install script usually cannot fetch libtensorflow here:
 * it may sit in node_modules without its binary, so it is detected by loading it, not by presence.
 */
export function initTf(logger: Logger = createLogger('model'), options: { tfjsNode?: boolean } = {}): Promise<TfRuntime> {
  runtime ??= loadRuntime(logger, options.tfjsNode ?? process.env.LOUPE_RUNTIME !== 'wasm').catch((e) => {
    runtime = undefined;
    throw e;
  });
  return runtime;
}

async function loadRuntime(logger: Logger, tfjsNode: boolean): Promise<TfRuntime> {
  const t0 = performance.now();
  // Without tfjs-node (LOUPE_RUNTIME=wasm), e.g. to keep a fleet on one backend: backends agree to
  // ~1e-5, which can still flip a borderline bit. The first call in a process decides.
  if (tfjsNode) {
    const node = await tryTfjsNode(logger);
    if (node) {
      const initMs = performance.now() - t0;
      logger.info({ backend: 'tensorflow', initMs: Math.round(initMs) }, 'tfjs backend: tfjs-node (libtensorflow)');
      return { tf: node, backend: 'tensorflow', initMs };
    }
  }
  const tf: Tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(wasmDistDir());
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to initialise');
  await tf.ready();
  const initMs = performance.now() - t0;
  logger.info(
    { backend: 'wasm', simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), initMs: Math.round(initMs) },
    'tfjs backend: wasm (one core per process)',
  );
  return { tf, backend: 'wasm', initMs };
}

async function tryTfjsNode(logger: Logger): Promise<Tf | undefined> {
  // A variable specifier keeps TypeScript from requiring the optional package's types.
  const specifier = '@tensorflow/tfjs-node';
  try {
    const mod = (await import(specifier)) as Tf & { default?: Tf };
    const tf = mod.default ?? mod; // CommonJS package: the namespace is module.exports
    if (!(await tf.setBackend('tensorflow'))) return undefined;
    await tf.ready();
    return tf;
  } catch (e) {
    logger.debug({ err: String(e).slice(0, 200) }, 'tfjs-node not usable, falling back to wasm');
    return undefined;
  }
}

/** `<dir of @tensorflow/tfjs-backend-wasm>/dist/`, where its .wasm binaries live. */
function wasmDistDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
}
