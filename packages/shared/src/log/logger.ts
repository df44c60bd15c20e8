import { isatty } from 'node:tty';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * JSON unless asked for pretty, or auto on a terminal. fd 1 is the process's, so a worker thread
 * (whose process.stdout is a pipe to the main thread) decides as the main thread does.
 */
export function prettyLogs(format: string | undefined, stdoutIsTty = isatty(1)): boolean {
  if (format === 'pretty') return true;
  if (format === 'json') return false;
  return stdoutIsTty;
}

/** One structured logger per service; the service name is on every line (LOUPE_LOG_FORMAT picks JSON or readable lines). */
export function createLogger(
  service: string,
  level = process.env.LOUPE_LOG_LEVEL ?? 'info',
  format = process.env.LOUPE_LOG_FORMAT,
): Logger {
  const options = { name: `loupe-${service}`, level, base: { service } };
  if (!prettyLogs(format)) return pino(options);
  // Synchronous: no transport thread to flush or outlive the process on shutdown.
  return pino(options, pretty({ sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' }));
}
