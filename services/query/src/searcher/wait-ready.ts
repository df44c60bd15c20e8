/** Resolves true once `ready()` holds, false after timeoutMs or once `gaveUp()` (closed meanwhile). */
export async function waitReady(ready: () => boolean, timeoutMs: number, gaveUp: () => boolean): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() >= until || gaveUp()) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}
