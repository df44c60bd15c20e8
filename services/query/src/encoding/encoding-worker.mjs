// Entry of a query encoding worker thread: register tsx (a worker does not get the parent's
// TypeScript loader under vitest, and the parent may not run under tsx at all), then load the body.
import { register } from 'tsx/esm/api';

register();
await import('./encoding-worker.ts');
