import type { Logger } from '../log/logger.ts';
import type { RedisClient } from './redis-connection.ts';

/** Seconds a client is told to wait (Retry-After) when Redis is unreachable. */
export const REDIS_RETRY_AFTER_S = 2;

/** Something that needs Redis was asked for while Redis is unreachable (HTTP 503 with Retry-After). */
export class RedisUnavailableError extends Error {
  readonly retryAfterS = REDIS_RETRY_AFTER_S;
  constructor(what: string) {
    super(`${what}: Redis is unreachable, try again shortly`);
    this.name = 'RedisUnavailableError';
  }
}

const CONNECTION_MESSAGES = [
  'Connection is closed',
  'Command timed out',
  "Stream isn't writeable",
  "Cluster isn't ready",
  'All sentinels are unreachable',
  'Failed to refresh slots cache',
];
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTCONN', 'ECONNABORTED']);

/** True for an error that says Redis could not be reached or did not answer, not that a command was wrong. */
export function isRedisConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof RedisUnavailableError || err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError') return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  return CONNECTION_MESSAGES.some((m) => err.message.includes(m));
}

/**
 * Whether a service's Redis connection is up, from the client's own events: logs one line when
 * it is lost and one when it is back (not every reconnect attempt), so an outage reads as two
 * lines per process. Before the first connection it is down but says nothing (start-up waits).
 */
export class RedisHealth {
  private upValue: boolean;
  private downAt: number | null = null;
  private everUp: boolean;
  private readonly onReady = () => this.markUp();
  private readonly onClose = () => this.markDown();

  constructor(
    private readonly client: RedisClient,
    private readonly log: Logger,
  ) {
    this.upValue = this.everUp = client.status === 'ready';
    client.on('ready', this.onReady);
    client.on('close', this.onClose);
    client.on('end', this.onClose);
  }

  get up(): boolean {
    return this.upValue;
  }

  /** When the connection was lost (ms since the epoch), null while it is up or before the first connection. */
  get downSince(): number | null {
    return this.downAt;
  }

  /** Throws RedisUnavailableError (naming `what` needs it) while Redis is down. */
  require(what: string): void {
    if (!this.upValue) throw new RedisUnavailableError(what);
  }

  /** Stops listening (the client is being closed: its end is no outage). */
  close(): void {
    this.client.off('ready', this.onReady);
    this.client.off('close', this.onClose);
    this.client.off('end', this.onClose);
  }

  private markUp(): void {
    if (this.upValue) return;
    this.upValue = true;
    if (this.everUp) this.log.info({ event: 'redis-back', downMs: Date.now() - (this.downAt ?? Date.now()) }, 'Redis is back');
    this.everUp = true;
    this.downAt = null;
  }

  private markDown(): void {
    if (!this.upValue) return;
    this.upValue = false;
    this.downAt = Date.now();
    this.log.warn({ event: 'redis-lost' }, 'Redis connection lost; waiting for it to come back');
  }
}
