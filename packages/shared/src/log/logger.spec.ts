import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { prettyLogs } from './logger.ts';

/** What a process logging one event through createLogger prints on a pipe (stdout not a terminal). */
function logOnePipedLine(format?: string): string {
  const script = `import { createLogger } from ${JSON.stringify(new URL('./logger.ts', import.meta.url).href)};
    createLogger('demo', 'info').info({ shard: 3 }, 'mirror loaded');`;
  const env: NodeJS.ProcessEnv = { ...process.env, LOUPE_LOG_FORMAT: format, NO_COLOR: '1' };
  if (format === undefined) delete env.LOUPE_LOG_FORMAT;
  delete env.FORCE_COLOR;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

describe('log format', () => {
  it('is readable on a terminal unless JSON is asked for, JSON elsewhere unless pretty is asked for', () => {
    expect([prettyLogs('auto', true), prettyLogs(undefined, true), prettyLogs('json', true), prettyLogs('pretty', true)]).toEqual([true, true, false, true]);
    expect([prettyLogs('auto', false), prettyLogs(undefined, false), prettyLogs('json', false), prettyLogs('pretty', false)]).toEqual([false, false, false, true]);
  });

  it('writes JSON lines on a pipe, readable lines when pretty is asked for', () => {
    expect(JSON.parse(logOnePipedLine())).toMatchObject({ level: 30, service: 'demo', shard: 3, msg: 'mirror loaded' });
    expect(JSON.parse(logOnePipedLine('json'))).toMatchObject({ msg: 'mirror loaded' });
    const pretty = logOnePipedLine('pretty');
    expect(pretty).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(loupe-demo\): mirror loaded\n\s+shard: 3\n$/);
  });
});
