import type { LoupeConfig } from '@loupe/shared';
import { callQuery } from './query-client.ts';
import { printTable } from './search.ts';

export async function runStats(config: LoupeConfig): Promise<number> {
  const s = await callQuery(config, '/v1/stats');
  process.stdout.write(
    `model ${s.model} (${s.bits} bits), index generation ${s.generation}\nindexed ${s.indexed}  pending ${s.pending}  failed ${s.failed}  deleted ${s.deleted}\n` +
      (s.rollout ? `rollout to ${s.rollout.model} (${s.rollout.bits} bits): ${s.rollout.indexed} of ${s.indexed} re-encoded\n` : '') +
      '\n',
  );
  printTable(
    ['shard', 'live', 'deleted', 'replaced'],
    s.shards.map((x: any) => [String(x.shard), String(x.live), String(x.deleted), String(x.replaced)]),
  );
  return 0;
}
