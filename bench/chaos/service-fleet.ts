import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '@loupe/shared';

const CLI = path.join(REPO_ROOT, 'packages/cli/src/main.ts');

interface Member {
  name: string;
  args: string[];
  child: ChildProcess | null;
  starts: number;
}

/**
 * Loupe's services as separate processes under a minimal process manager: each one that exits,
 * however it exits, is started again after `restartDelayMs`, as systemd or Kubernetes would.
 * The processes run the CLI directly (not through bin/loupe.mjs), so a SIGKILL hits the service
 * itself. Their output goes to `<logDir>/<name>.log`.
 */
export class ServiceFleet {
  private readonly members: Member[] = [];
  private readonly logs = new Map<string, WriteStream>();
  private stopping = false;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
    private readonly restartDelayMs = 1000,
  ) {}

  /** Adds and starts a service: `name` tells it apart (encoder-1), `args` is the CLI command. */
  add(name: string, args: string[]): void {
    const member: Member = { name, args, child: null, starts: 0 };
    this.members.push(member);
    this.logs.set(name, createWriteStream(path.join(this.logDir, `${name}.log`), { flags: 'a' }));
    this.launch(member);
  }

  get names(): string[] {
    return this.members.map((m) => m.name);
  }

  /** SIGKILLs the service's current process; false when it is between restarts. */
  kill(name: string): boolean {
    const child = this.members.find((m) => m.name === name)?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return false;
    return child.kill('SIGKILL');
  }

  /** Times each service was started, restarts included. */
  starts(): Record<string, number> {
    return Object.fromEntries(this.members.map((m) => [m.name, m.starts]));
  }

  /** Stops every service with SIGTERM (SIGKILL after `graceMs`) and restarts none. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    await Promise.all(this.members.map(async (m) => {
      const child = m.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }));
    for (const log of this.logs.values()) log.end();
  }

  private launch(member: Member): void {
    if (this.stopping) return;
    member.starts++;
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...member.args], {
      cwd: REPO_ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = this.logs.get(member.name)!;
    log.write(`--- start ${member.starts} pid ${child.pid} at ${new Date().toISOString()}\n`);
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    member.child = child;
    child.once('exit', (code, signal) => {
      log.write(`--- exit code ${code} signal ${signal} at ${new Date().toISOString()}\n`);
      setTimeout(() => this.launch(member), this.restartDelayMs).unref();
    });
  }
}
