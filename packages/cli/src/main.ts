import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '@loupe/shared';
import { runService, SERVICES, type ServiceName } from './commands/run-service.ts';
import { runStart } from './commands/start.ts';
import { runSearch } from './commands/search.ts';
import { runStats } from './commands/stats.ts';

const USAGE = `Usage: loupe <command> [options]

Commands:
  start                     run Redis (if none answers), ingest, encoder, indexer and query
  ingest|encoder|indexer|query
                            run one service in this process
  search <image> [--k N] [--granularity auto|global|region] [--key KEY]
                            query the running service and print the hits
  stats                     print index and pipeline counters
  rollout <model> | --status | --finish | --abort
                            re-encode the index with another model in the background and switch
                            queries over without downtime (loupe rollout --help)
  train [--method itq|lsh|csq] [--bits N] [--labels prefix|FILE] [--out URL]
                            train a hash head on the source's images (loupe train --help)
  eval [--semantic] [options]
                            copy-detection benchmark on the photos data set (loupe eval --help);
                            --semantic: the Fashion-MNIST benchmark
  convert-model [--out FILE]
                            write the ONNX model of the bundled CNN to LOUPE_DATA_DIR/models/
                            (processes convert it on first use; for container images)
  bench [search|encoder|query|pipeline|memory]
                            run a benchmark (npm run bench:*)

Configuration comes from the environment (see README.md).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 2;
  }
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`loupe: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if ((SERVICES as readonly string[]).includes(command)) return runService(command as ServiceName, config);
  switch (command) {
    case 'start':
      return runStart(config);
    case 'search': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { k: { type: 'string' }, granularity: { type: 'string' }, key: { type: 'string' }, json: { type: 'boolean' } },
      });
      return runSearch(config, { image: positionals[0], ...values });
    }
    case 'stats':
      return runStats(config);
    case 'convert-model':
      return (await import('./commands/convert-model.ts')).runConvertModel(config, rest);
    case 'rollout':
      return (await import('./commands/rollout.ts')).runRollout(config, rest);
    case 'train':
      // Loaded on demand: training pulls in TF.js and the trainers, which other commands never need.
      return (await import('./commands/train.ts')).runTrain(config, rest);
    case 'eval': {
      if (rest.includes('--semantic')) {
        const { spawnSync } = await import('node:child_process');
        const script = new URL('../../eval/src/semantic/fashion-mnist.ts', import.meta.url).pathname;
        const args = rest.filter((a) => a !== '--semantic');
        return spawnSync(process.execPath, [...process.execArgv, script, ...args], { stdio: 'inherit' }).status ?? 1;
      }
      // Loaded on demand: the benchmark pulls in TF.js and sharp pipelines other commands never need.
      return (await import('@loupe/eval')).runCopyDetectionCli(rest, { model: config.LOUPE_MODEL });
    }
    case 'bench': {
      const { spawnSync } = await import('node:child_process');
      const which = rest[0] ?? 'search';
      return spawnSync('npm', ['run', `bench:${which}`], { stdio: 'inherit' }).status ?? 1;
    }
    default:
      process.stderr.write(`loupe: unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined && code !== -1) process.exit(code);
  },
  (err) => {
    process.stderr.write(`loupe: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
