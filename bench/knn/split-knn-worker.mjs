// Entry of the split k-NN worker thread: registers tsx (a worker does not inherit the parent's
// TypeScript loader), then loads the TypeScript body.
import { register } from 'tsx/esm/api';

register();
await import('./split-knn-worker.ts');
