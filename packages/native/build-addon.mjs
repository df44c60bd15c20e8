// Builds the addon with the node-gyp npm runs scripts with. It only makes the scan faster: where
// there is no compiler (a slim image) or no node-gyp, the install goes on and the scan runs as
// WebAssembly on ordinary pages (src/index.ts reports which).
import { spawnSync } from 'node:child_process';

if (process.platform !== 'linux') {
  console.log('@loupe/native: not Linux, nothing to build');
  process.exit(0);
}
const nodeGyp = process.env.npm_config_node_gyp;
const build = nodeGyp ? spawnSync(process.execPath, [nodeGyp, 'rebuild'], { stdio: 'inherit' }) : null;
if (!build || build.status !== 0) {
  console.warn('@loupe/native: the addon did not build (needs python3, make and a C compiler); the scan runs as WebAssembly on ordinary pages');
}
