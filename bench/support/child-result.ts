import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs a bench module in a child process (through tsx) and resolves with the one message it sends
 * back: for work whose memory must not count in the caller's RSS (a CNN, a kernel's heap that
 * never shrinks). The module answers with `answerAsChild`.
 */
export function resultOfChild<T>(moduleUrl: string, args: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(moduleUrl), args, { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: 'inherit' });
    child.once('message', (m) => resolve(m as T));
    child.once('error', reject);
    child.once('exit', (code) => (code ? reject(new Error(`${fileURLToPath(moduleUrl)} exited with ${code}`)) : undefined));
  });
}

/** In the module `moduleUrl`, run as resultOfChild's child: sends what `work` gives and exits. */
export async function answerAsChild<T>(moduleUrl: string, work: (args: string[]) => Promise<T> | T): Promise<void> {
  if (process.argv[1] !== fileURLToPath(moduleUrl) || !process.send) return;
  const result = await work(process.argv.slice(2));
  process.send(result, () => process.exit(0));
}
