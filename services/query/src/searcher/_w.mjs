import { register } from 'tsx/esm/api';
register();
const t = performance.now();
await import(process.env.WHAT);
console.log(process.env.WHAT, 'import ms', Math.round(performance.now() - t));
