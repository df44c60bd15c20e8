import type { LoupeConfig } from '@loupe/shared';
import { callQuery } from './query-client.ts';
import { printTable } from './search.ts';

export async function runStats(config: LoupeConfig, opts: { json?: boolean } = {}): Promise<number> {
  const s = await callQuery(config, '/v1/stats');
  if (opts.json) {
    process.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(
    `model ${s.model} (${s.bits} bits), index generation ${s.generation}\nindexed ${s.indexed}  pending ${s.pending}  failed ${s.failed}  deleted ${s.deleted}\n` +
      (s.runtime ? `inference runtime: query ${s.runtime.query}, encoders ${Object.entries(s.runtime.encoders).map(([r, n]) => `${n} on ${r}`).join(', ') || 'none reporting'}\n` : '') +
      (s.rollout ? `rollout to ${s.rollout.model} (${s.rollout.bits} bits): ${s.rollout.indexed} of ${s.indexed} re-encoded\n` : '') +
      (s.source?.state === 'retrying' ? `source ${s.source.url}: RETRYING since ${s.source.since} (${s.source.lastError})\n` : '') +
      '\n',
  );
  printTable(
    ['shard', 'live', 'deleted', 'replaced', 'stale'],
    // stale: writes the indexer refused as older than the version it held (absent from older servers).
    s.shards.map((x: any) => [String(x.shard), String(x.live), String(x.deleted), String(x.replaced), String(x.stale ?? 0)]),
  );
  return 0;
}
