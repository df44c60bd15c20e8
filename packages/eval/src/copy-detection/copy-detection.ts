/**
 * Copy-detection benchmark (see copy-detection-benchmark.ts), runnable on its own:
 *
 *   npx tsx packages/eval/src/copy-detection/copy-detection.ts [--model URL] [--photos DIR] ...
 *
 * or as `loupe eval`. LOUPE_MODEL (default builtin model) is the model under test.
 */
import { loadConfig } from '@loupe/shared';
import { runCopyDetectionCli } from './copy-detection-cli.ts';

process.exitCode = await runCopyDetectionCli(process.argv.slice(2), { model: loadConfig().LOUPE_MODEL });
