import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoupeConfig } from '@loupe/shared';
import { callQuery } from './query-client.ts';

const MIME: Record<string, string> = {
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp',
  '.gif': 'image/gif', '.tif': 'image/tiff', '.tiff': 'image/tiff', '.avif': 'image/avif',
};

export async function runSearch(
  config: LoupeConfig,
  o: { image?: string; k?: string; granularity?: string; key?: string; json?: boolean },
): Promise<number> {
  if (!o.image && !o.key) {
    process.stderr.write('usage: loupe search <image> | --key <object key> [--k N] [--granularity auto|global|region]\n');
    return 2;
  }
  const qs = new URLSearchParams();
  if (o.k) qs.set('k', o.k);
  if (o.granularity) qs.set('granularity', o.granularity);
  const init: RequestInit = o.key
    ? { method: 'POST', body: JSON.stringify({ key: o.key }), headers: { 'content-type': 'application/json' } }
    : {
        method: 'POST',
        body: await readFile(o.image!),
        headers: { 'content-type': MIME[path.extname(o.image!).toLowerCase()] ?? 'application/octet-stream' },
      };
  const r = await callQuery(config, `/v1/search?${qs}`, init);
  if (o.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return 0;
  }
  const rows = r.hits.map((h: any, i: number) => [
    String(i + 1), h.key, h.score.toFixed(3), String(h.distance), h.granularity,
    `${h.region.x},${h.region.y} ${h.region.w}x${h.region.h}`,
  ]);
  printTable(['#', 'key', 'score', 'dist', 'granularity', 'region (x,y wxh)'], rows);
  process.stdout.write(`${r.hits.length} hits in ${r.tookMs} ms, shards ${r.shards.ok}/${r.shards.total}${r.partial ? ' (PARTIAL)' : ''}${r.stale ? ' (STALE: Redis unreachable, answered from the in-memory mirrors)' : ''}\n`);
  return 0;
}

export function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd() + '\n';
  process.stdout.write(line(head) + line(widths.map((w) => '-'.repeat(w))) + rows.map(line).join(''));
}
