import { parseArgs } from 'node:util';
import { createLogger, createRedis, loadHashModel, type LoupeConfig } from '@loupe/shared';
import { openRollout, RolloutError, type RolloutProgress } from '@loupe/ingest';

const USAGE = `usage: loupe rollout <model> [--shards N] [--no-wait]
                                         start re-encoding the index with <model> (a LOUPE_MODEL value)
                                         into N shards (default: the index's count), wait until done,
                                         switch queries over, delete the old index
       loupe rollout --status              print the progress of a rollout
       loupe rollout --finish [--force]    wait for a started rollout and switch over (--force: even if
                                         some objects failed to re-encode, once nothing is pending)
       loupe rollout --abort               cancel a rollout and delete what it wrote

The running pipeline does the work: ingest re-reads every object of LOUPE_SOURCE for the new index,
encoders encode with both models while the rollout lasts, query services switch when it is done.`;

/** `loupe rollout`: drives a model rollout (RolloutService) and prints its progress. */
export async function runRollout(config: LoupeConfig, args: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      status: { type: 'boolean', default: false },
      finish: { type: 'boolean', default: false },
      abort: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      'no-wait': { type: 'boolean', default: false },
      shards: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const modelRef = positionals[0];
  if (v.help || (!modelRef && !v.status && !v.finish && !v.abort)) {
    process.stdout.write(USAGE + '\n');
    return v.help ? 0 : 2;
  }
  const shards = v.shards === undefined ? undefined : Number(v.shards);
  if (shards !== undefined && !(Number.isInteger(shards) && shards >= 1 && shards <= 1024)) {
    process.stderr.write(`loupe rollout: --shards must be an integer in 1..1024 (got ${JSON.stringify(v.shards)})\n`);
    return 2;
  }
  const logger = createLogger('rollout', config.LOUPE_LOG_LEVEL);
  const redis = createRedis(config, { name: 'loupe-rollout' });
  const rollout = openRollout(config, { redis, loadModel: (ref) => loadHashModel(ref, { logger }), logger });
  const { service } = rollout;
  const print = (p: RolloutProgress) =>
    process.stdout.write(
      `active ${p.active.generation} (${p.active.model}): ${p.active.objects} objects; ` +
        (p.next ? `next ${p.next.generation} (${p.next.model}): ${p.next.objects}; ` : 'no rollout; ') +
        `${p.pending} jobs pending\n`,
    );
  try {
    if (v.status) print(await service.progress());
    else if (v.abort) {
      const aborted = await service.abort();
      process.stdout.write(aborted ? `rollout ${aborted} aborted and deleted\n` : 'no rollout in progress\n');
    } else {
      if (modelRef) {
        const r = await service.begin(modelRef, { shards });
        process.stdout.write(`rollout of ${r.model} into generation ${r.generation} (${r.shards} shards): ${r.queued} objects queued for re-encoding\n`);
      }
      if (!v['no-wait']) {
        let last = '';
        const r = await service.finish({
          force: v.force,
          onProgress: (p) => {
            const line = JSON.stringify(p);
            if (line !== last) print(p);
            last = line;
          },
        });
        process.stdout.write(`generation ${r.generation} is active; ${r.retired} deleted (${r.deletedKeys} keys)\n`);
      }
    }
    return 0;
  } catch (e) {
    if (!(e instanceof RolloutError)) throw e;
    process.stderr.write(`loupe rollout: ${e.message}\n`);
    return 1;
  } finally {
    await rollout.close();
    redis.disconnect();
  }
}
