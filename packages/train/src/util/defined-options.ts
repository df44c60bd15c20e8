/** The options that are set: an explicit `undefined` must not override a default when spread over it. */
export function definedOptions<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
