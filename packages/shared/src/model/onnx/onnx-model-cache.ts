import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../log/logger.ts';
import { nsfwjsVersion, readNsfwjsBundle } from '../backbone/nsfwjs-bundle.ts';
import { MOBILENET_FEATURE_MAP_NODE } from '../backbone/nsfwjs-mobilenet-backbone.ts';
import { CONVERTER_VERSION, convertMobileNetToOnnx } from './mobilenet-onnx-converter.ts';

/**
 * Where the converted backbone is cached: keyed by the nsfwjs version (its weights) and the
 * converter's version (its graph), so upgrading either converts again.
 */
export function onnxModelPath(dataDir: string): string {
  return path.join(dataDir, 'models', `nsfwjs-${nsfwjsVersion()}-mobilenet_v2_mid-c${CONVERTER_VERSION}.onnx`);
}

/** The backbone converted to ONNX now, from the installed nsfwjs package. */
export async function convertBackbone(): Promise<Uint8Array> {
  return convertMobileNetToOnnx(await readNsfwjsBundle(), MOBILENET_FEATURE_MAP_NODE);
}

/**
 * The ONNX backbone: read from the cache under LOUPE_DATA_DIR, else converted from the npm
 * package (~1 s) and written there (atomically: several processes may start at once). A data
 * dir that cannot be written costs a conversion per process, not a failure.
 */
export async function cachedOnnxBackbone(dataDir: string, log: Logger): Promise<Uint8Array> {
  const file = onnxModelPath(dataDir);
  try {
    return new Uint8Array(await readFile(file));
  } catch {
    /* not converted yet */
  }
  const t0 = performance.now();
  const bytes = await convertBackbone();
  try {
    await writeOnnxModel(file, bytes);
    log.info({ file, bytes: bytes.length, ms: Math.round(performance.now() - t0) }, 'backbone converted to ONNX and cached');
  } catch (e) {
    log.warn({ file, err: (e as Error).message }, 'backbone converted to ONNX but could not be cached: every process will convert it');
  }
  return bytes;
}

/** Writes a model file via a temporary name, so readers never see half a file. */
export async function writeOnnxModel(file: string, bytes: Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}
