import { describe, expect, it } from 'vitest';
import { DeadUsageError, parseDeadArgs } from './dead.ts';

describe('loupe dead arguments', () => {
  it('lists by default, with a page size and a cursor', () => {
    expect(parseDeadArgs([])).toEqual({ kind: 'list', json: false, limit: undefined, cursor: undefined });
    expect(parseDeadArgs(['--json', '--limit', '20', '--cursor', 'WzEsImsiXQ'])).toEqual({ kind: 'list', json: true, limit: 20, cursor: 'WzEsImsiXQ' });
    expect(parseDeadArgs(['list', '--limit=1000'])).toMatchObject({ kind: 'list', limit: 1000 });
  });

  it('retries one key or all of them', () => {
    expect(parseDeadArgs(['retry', 'photos/a b.jpg'])).toEqual({ kind: 'retry', json: false, target: { key: 'photos/a b.jpg' } });
    expect(parseDeadArgs(['retry', '--all', '--json'])).toEqual({ kind: 'retry', json: true, target: { all: true } });
  });

  it('answers --help with null', () => {
    expect(parseDeadArgs(['--help'])).toBeNull();
    expect(parseDeadArgs(['retry', '-h'])).toBeNull();
  });

  it('refuses what it cannot run, saying why', () => {
    const cases: [string[], RegExp][] = [
      [['--limit', '0'], /--limit must be an integer from 1 to 1000, got "0"/],
      [['--limit', '1001'], /--limit/],
      [['--limit', '2.5'], /--limit/],
      [['--limit', 'ten'], /--limit/],
      [['retry'], /one key or --all/],
      [['retry', 'a', '--all'], /one key or --all/],
      [['retry', 'a', 'b'], /one key or --all/],
      [['retry', 'a', '--limit', '3'], /no --limit/],
      [['--all'], /did you mean `loupe dead retry`/],
      [['purge'], /unknown subcommand "purge"/],
      [['--frobnicate'], /frobnicate/],
    ];
    for (const [args, message] of cases) expect(() => parseDeadArgs(args), args.join(' ')).toThrow(message);
    expect(() => parseDeadArgs(['retry'])).toThrow(DeadUsageError);
  });
});
