import { pino, type Logger } from 'pino';

export type { Logger };

/** One structured logger per service; the service name is on every line. */
export function createLogger(service: string, level = process.env.LOUPE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: `loupe-${service}`, level, base: { service } });
}
