import { parseArgs } from 'node:util';
import { convertBackbone, CONVERTER_VERSION, nsfwjsVersion, onnxModelPath, writeOnnxModel, type LoupeConfig } from '@loupe/shared';

const HELP = `Usage: loupe convert-model [--out FILE]

Converts the bundled MobileNetV2 (the nsfwjs npm package's TF.js graph) to the ONNX model the ONNX
Runtime loads, and writes it where every Loupe process looks for it: LOUPE_DATA_DIR/models/ (or
--out FILE). Processes convert it on first use anyway; run this when building a container image so
they start without converting (nothing is downloaded either way).`;

/** `loupe convert-model`: writes the converted ONNX backbone (for container images). */
export async function runConvertModel(config: LoupeConfig, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const file = values.out ?? onnxModelPath(config.LOUPE_DATA_DIR);
  const t0 = performance.now();
  const bytes = await convertBackbone();
  await writeOnnxModel(file, bytes);
  process.stdout.write(`wrote ${file} (${(bytes.length / 1e6).toFixed(1)} MB, nsfwjs ${nsfwjsVersion()}, converter v${CONVERTER_VERSION}, ${Math.round(performance.now() - t0)} ms)\n`);
  return 0;
}
