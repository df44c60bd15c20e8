import { parseArgs } from 'node:util';
import type { LoupeConfig } from '@loupe/shared';
import { callQuery } from './query-client.ts';
import { printTable } from './search.ts';

export const DUPLICATES_USAGE = `Usage: loupe duplicates [--json | --csv] [--prefix P] [--min-size N]

Prints every duplicate group (GET /v1/duplicates, all pages): each group's original, then its
members with their relation to it (copy, edited, crop-of, contains), score and size, and the bytes
that deleting every member but the originals would free. --json: {groups, total, reclaimableBytes};
--csv: one row per object (group, key, relation, score, bytes, box). --prefix keeps groups with a
key under it, --min-size groups of at least N objects (the original included).`;

interface Member {
  key: string;
  relation: string;
  score: number;
  box?: { x: number; y: number; w: number; h: number };
  bytes: number;
}
export interface ReportGroup {
  id: string;
  original: { key: string; width: number; height: number; bytes: number };
  members: Member[];
  reclaimableBytes: number;
}

/** One row per object of each group, the original first (relation `original`). */
export function reportRows(groups: ReportGroup[]): string[][] {
  return groups.flatMap((g) => [
    [g.id, g.original.key, 'original', '', String(g.original.bytes), `${g.original.width}x${g.original.height}`],
    ...g.members.map((m) => [g.id, m.key, m.relation, m.score.toFixed(3), String(m.bytes), m.box ? `${m.box.x},${m.box.y} ${m.box.w}x${m.box.h}` : '']),
  ]);
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
export function csvLine(cells: string[]): string {
  return cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',') + '\n';
}

/** `loupe duplicates`: the report of the running query service's duplicate groups. */
export async function runDuplicates(config: LoupeConfig, args: string[]): Promise<number> {
  let v;
  try {
    ({ values: v } = parseArgs({
      args,
      options: {
        json: { type: 'boolean', default: false },
        csv: { type: 'boolean', default: false },
        prefix: { type: 'string' },
        'min-size': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
    if (v.json && v.csv) throw new Error('--json and --csv exclude each other');
    if (v['min-size'] !== undefined && !/^\d+$/.test(v['min-size'])) throw new Error(`--min-size must be an integer of at least 2, got ${JSON.stringify(v['min-size'])}`);
  } catch (e) {
    process.stderr.write(`loupe duplicates: ${(e as Error).message}\n\n${DUPLICATES_USAGE}\n`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(DUPLICATES_USAGE + '\n');
    return 0;
  }
  const groups: ReportGroup[] = [];
  let cursor: string | null = null;
  do {
    const qs = new URLSearchParams({ limit: '1000' });
    if (cursor) qs.set('cursor', cursor);
    if (v.prefix) qs.set('prefix', v.prefix);
    if (v['min-size']) qs.set('minSize', v['min-size']);
    const page = await callQuery(config, `/v1/duplicates?${qs}`);
    groups.push(...page.groups);
    cursor = page.nextCursor;
  } while (cursor);
  const reclaimable = groups.reduce((n, g) => n + g.reclaimableBytes, 0);
  if (v.json) {
    process.stdout.write(JSON.stringify({ groups, total: groups.length, reclaimableBytes: reclaimable }, null, 2) + '\n');
  } else if (v.csv) {
    process.stdout.write(csvLine(['group', 'key', 'relation', 'score', 'bytes', 'box']));
    for (const [group, key, relation, score, bytes, box] of reportRows(groups)) process.stdout.write(csvLine([group, key, relation, score, bytes, relation === 'original' ? '' : box]));
  } else if (groups.length === 0) {
    process.stdout.write('no duplicate groups\n');
  } else {
    printTable(['group', 'key', 'relation', 'score', 'bytes', 'size / box'], reportRows(groups).map(([, ...r], i, rows) => [i && rows[i - 1][0] === rows[i][0] ? '' : String(groups.findIndex((g) => g.id === rows[i][0]) + 1), ...r]));
    const copies = groups.reduce((n, g) => n + g.members.length, 0);
    process.stdout.write(`${groups.length} groups, ${copies} objects besides their originals: deleting them frees ${formatBytes(reclaimable)} (${reclaimable} bytes)\n`);
  }
  return 0;
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}
