import { parseArgs } from 'node:util';
import type { LoupeConfig } from '@loupe/shared';
import { callQuery } from './query-client.ts';
import { printTable } from './search.ts';

export const DEAD_USAGE = `Usage: loupe dead [--json] [--limit N] [--cursor C]
       loupe dead retry <key> | --all [--json]

Lists the objects whose current version failed (GET /v1/dead), newest first, as a table (--json:
the response as JSON). --limit: entries per page (50, at most 1000); the next page is
--cursor <nextCursor of this one>. An object leaves the list once it is indexed or deleted.

retry puts the key's current version (--all: every dead letter's) through the pipeline again
(POST /v1/dead/retry); a key the source no longer has is dropped from the list.`;

export type DeadCommand =
  | { kind: 'list'; json: boolean; limit?: number; cursor?: string }
  | { kind: 'retry'; json: boolean; target: { key: string } | { all: true } };

/** A command line `loupe dead` cannot run (exit 2). */
export class DeadUsageError extends Error {}

/** Parses the arguments after `loupe dead`; null for --help. */
export function parseDeadArgs(args: string[]): DeadCommand | null {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        limit: { type: 'string' },
        cursor: { type: 'string' },
        all: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new DeadUsageError((e as Error).message);
  }
  const { values: v, positionals: [sub, ...rest] } = parsed;
  if (v.help) return null;
  if (sub === undefined || sub === 'list') {
    if (v.all || rest.length) throw new DeadUsageError('listing takes no key and no --all (did you mean `loupe dead retry`?)');
    let limit: number | undefined;
    if (v.limit !== undefined) {
      limit = /^\d+$/.test(v.limit) ? Number(v.limit) : NaN;
      if (!(limit >= 1 && limit <= 1000)) throw new DeadUsageError(`--limit must be an integer from 1 to 1000, got ${JSON.stringify(v.limit)}`);
    }
    return { kind: 'list', json: v.json, limit, cursor: v.cursor };
  }
  if (sub !== 'retry') throw new DeadUsageError(`unknown subcommand ${JSON.stringify(sub)}`);
  if (v.limit !== undefined || v.cursor !== undefined) throw new DeadUsageError('retry takes no --limit or --cursor');
  if (v.all === (rest.length > 0) || rest.length > 1) throw new DeadUsageError('retry takes one key or --all');
  return { kind: 'retry', json: v.json, target: v.all ? { all: true } : { key: rest[0] } };
}

/** `loupe dead`: lists and retries dead letters through the running query service. */
export async function runDead(config: LoupeConfig, args: string[]): Promise<number> {
  let cmd: DeadCommand | null;
  try {
    cmd = parseDeadArgs(args);
  } catch (e) {
    if (!(e instanceof DeadUsageError)) throw e;
    process.stderr.write(`loupe dead: ${e.message}\n\n${DEAD_USAGE}\n`);
    return 2;
  }
  if (!cmd) {
    process.stdout.write(DEAD_USAGE + '\n');
    return 0;
  }
  if (cmd.kind === 'retry') {
    const r = await callQuery(config, '/v1/dead/retry', {
      method: 'POST',
      body: JSON.stringify(cmd.target),
      headers: { 'content-type': 'application/json' },
    });
    process.stdout.write(cmd.json ? JSON.stringify(r, null, 2) + '\n' : `requeued ${r.requeued}, dropped ${r.dropped} (no longer in the source)\n`);
    return 0;
  }
  const qs = new URLSearchParams();
  if (cmd.limit !== undefined) qs.set('limit', String(cmd.limit));
  if (cmd.cursor !== undefined) qs.set('cursor', cmd.cursor);
  const page = await callQuery(config, `/v1/dead${qs.size ? `?${qs}` : ''}`);
  if (cmd.json) {
    process.stdout.write(JSON.stringify(page, null, 2) + '\n');
    return 0;
  }
  if (page.deadLetters.length === 0) {
    process.stdout.write(page.total ? 'no more dead letters\n' : 'no dead letters\n');
    return 0;
  }
  printTable(
    ['failed at', 'stage', 'key', 'etag', 'reason'],
    page.deadLetters.map((d: { at: string; stage: string; key: string; etag?: string; reason: string }) => [d.at, d.stage, d.key, d.etag ?? '', d.reason]),
  );
  process.stdout.write(`${page.deadLetters.length} of ${page.total} dead letters` + (page.nextCursor ? `; next page: loupe dead --cursor ${page.nextCursor}\n` : '\n'));
  return 0;
}
