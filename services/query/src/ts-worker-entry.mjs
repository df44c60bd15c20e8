// Entry of the query service's worker threads (ts-worker.ts): registers tsx, then loads the
// TypeScript module named by the first argument.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
