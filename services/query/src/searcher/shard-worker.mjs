// Entry of a shard worker thread. A worker does not get the parent's TypeScript loader under
// vitest (and the parent may not run under tsx at all), so register tsx here, then load the
// TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./shard-worker.ts');
