import { loadHashModel, createLogger } from '@loupe/shared';
const m = await loadHashModel(process.argv[2], { logger: createLogger('x', 'silent') });
console.log(JSON.stringify(m.queryPlan));
