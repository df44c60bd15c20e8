/** How long a stopping process may drain before it gives up: under the 10 s a process manager is promised. */
export const DRAIN_DEADLINE_MS = 8_000;

/**
 * SIGTERM and SIGINT as one AbortSignal (its reason is the signal's name), listened for from the
 * first moment: a signal during preflight or start-up must stop the command, not kill it with
 * the default action (exit by signal, a Redis it started left running). Every repeat is caught,
 * not only the first: Ctrl-C in a terminal sends SIGINT to the whole process group, so a service
 * gets the terminal's and the one bin/loupe.mjs forwards, and the second must not cut its drain.
 */
export function listenForStop(): AbortSignal {
  const controller = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => controller.abort(signal));
  return controller.signal;
}

/** Resolves when `stop` fires (at once if it has). */
export function stopped(stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
}

/** `work`'s value, or undefined when `stop` fires first (the work is left to the exiting process). */
export function unlessStopped<T>(work: Promise<T>, stop: AbortSignal): Promise<T | undefined> {
  return Promise.race([work, stopped(stop).then(() => undefined)]);
}

/** Whether `work` settled within `ms` (false: it is still running). A rejection rejects. */
export async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
