import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '@loupe/shared';
import { runService, RUNNABLE_SERVICES, type ServiceName } from './commands/run-service.ts';
import { runStart } from './commands/start.ts';
import { preflight, SettingError, type PreflightCheck } from './commands/preflight.ts';
import { listenForStop, unlessStopped } from './commands/stop-signals.ts';
import { runSearch } from './commands/search.ts';
import { runStats } from './commands/stats.ts';

const USAGE = `Usage: loupe <command> [options]

Commands:
  start                     run Redis (if none answers), ingest, encoder, indexer and query
  ingest|encoder|indexer|query
                            run one service in this process
  searcher [--shards 0-15]  mirror some shards and serve their search to query routers
                            (LOUPE_SEARCHERS=registry; README, Scaling out)
  search <image> [--k N] [--granularity auto|global|region] [--key KEY] [--json]
                            query the running service and print the hits
  stats [--json]            print index and pipeline counters
  dead [--json] [--limit N] [--cursor C] | dead retry <key> | --all
                            list the objects whose current version failed; re-queue them
  duplicates [--json|--csv] [--prefix P] [--min-size N]
                            the duplicate groups, each original, and the bytes the copies take
  rollout <model> | --status | --finish | --abort
                            re-encode the index with another model in the background and switch
                            queries over without downtime (loupe rollout --help)
  train [--method pairs|itq|lsh|csq] [--bits N] [--labels prefix|FILE] [--out URL]
                            train a hash head on the source's images (loupe train --help)
  eval [--robust|--semantic] [options]
                            copy-detection benchmark on the photos data set (loupe eval --help);
                            --robust: random chains of edits over 3,000 images (loupe eval --robust --help);
                            --semantic: the Fashion-MNIST benchmark
  convert-model [--out FILE]
                            write the ONNX model of the bundled CNN to LOUPE_DATA_DIR/models/
                            (processes convert it on first use; for container images)
  bench [search|encoder|query|pipeline|memory|scale|duplicates]
                            run a benchmark (npm run bench:*)

Configuration comes from the environment (see README.md).`;

const SEARCH_USAGE = `Usage: loupe search <image> | --key KEY [--k N] [--granularity auto|global|region] [--json]

Searches the running query service (POST /v1/search) with an image file or an indexed object's key
and prints the hits as a table (--json: the response as JSON).`;

const BENCH_USAGE = `Usage: loupe bench [search|encoder|query|pipeline|memory|scale|duplicates]

Runs a benchmark (npm run bench:<name>; search by default). Each prints its figures and, last, one
JSON line; docs/benchmarks.md says what each measures.`;

/** What each command checks of its settings before it starts (see preflight). */
const PREFLIGHT: Record<string, PreflightCheck[]> = {
  start: ['port', 'model', 'source', 'events'],
  query: ['port', 'model'],
  encoder: ['model'],
  ingest: ['source', 'events'],
  searcher: ['searcher'],
};

/** `loupe searcher --shards R` is LOUPE_SEARCHER_SHARDS=R, validated (and named) the same way. */
function searcherEnv(args: string[]): NodeJS.ProcessEnv {
  const { values } = parseArgs({ args, options: { shards: { type: 'string' } }, strict: false });
  return typeof values.shards === 'string' ? { ...process.env, LOUPE_SEARCHER_SHARDS: values.shards } : process.env;
}

function usage(text: string): number {
  process.stdout.write(text + '\n');
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 2;
  }
  let config;
  try {
    config = loadConfig(command === 'searcher' ? searcherEnv(rest) : process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`loupe: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  // Long-running commands stop on SIGTERM/SIGINT from here on, preflight included (exit code 0).
  const isService = (RUNNABLE_SERVICES as readonly string[]).includes(command);
  const stop = isService || command === 'start' ? listenForStop() : new AbortController().signal;
  const checks = PREFLIGHT[command];
  if (checks) {
    try {
      await unlessStopped(preflight(config, checks), stop);
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      process.stderr.write(`loupe: ${e.message}\n`);
      return 2;
    }
    if (stop.aborted) return 0;
  }
  if (isService) return runService(command as ServiceName, config, stop);
  switch (command) {
    case 'start':
      return runStart(config, stop);
    case 'search': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { k: { type: 'string' }, granularity: { type: 'string' }, key: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      });
      if (values.help) return usage(SEARCH_USAGE);
      return runSearch(config, { image: positionals[0], ...values });
    }
    case 'stats': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
      if (values.help) return usage('Usage: loupe stats [--json]\n\nIndex and pipeline counters of the running query service (GET /v1/stats); --json prints them as JSON.');
      return runStats(config, values);
    }
    case 'dead':
      return (await import('./commands/dead.ts')).runDead(config, rest);
    case 'duplicates':
      return (await import('./commands/duplicates.ts')).runDuplicates(config, rest);
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
      const evaluation = await import('@loupe/eval');
      if (rest.includes('--robust')) return evaluation.runRobustCli(rest, { model: config.LOUPE_MODEL });
      return evaluation.runCopyDetectionCli(rest, { model: config.LOUPE_MODEL });
    }
    case 'bench': {
      if (rest[0] === '--help' || rest[0] === '-h') return usage(BENCH_USAGE);
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
