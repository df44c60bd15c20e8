import type { LoupeConfig } from '@loupe/shared';

/** Calls the running query service; throws with the server's message on a non-2xx answer. */
export async function callQuery(config: LoupeConfig, path: string, init: RequestInit = {}): Promise<any> {
  const base = `http://${config.LOUPE_QUERY_HOST}:${config.LOUPE_QUERY_PORT}`;
  const headers = new Headers(init.headers);
  if (config.LOUPE_TOKEN) headers.set('authorization', `Bearer ${config.LOUPE_TOKEN}`);
  let res: Response;
  try {
    res = await fetch(base + path, { ...init, headers });
  } catch (e) {
    throw new Error(`cannot reach the query service at ${base} (${(e as Error).message}); is \`loupe start\` running?`);
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok && !(res.status === 503 && body.hits)) {
    throw new Error(`${res.status} ${body.error ?? res.statusText}: ${body.message ?? ''}`);
  }
  return body;
}
