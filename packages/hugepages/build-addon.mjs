// Builds the addon with the node-gyp npm runs scripts with. Huge pages are an optimisation: where
// there is no compiler (a slim image) or no node-gyp, the install goes on and the scan runs on
// ordinary pages (src/index.ts reports which).
import { spawnSync } from 'node:child_process';

if (process.platform !== 'linux') {
  console.log('@loupe/hugepages: not Linux, nothing to build');
  process.exit(0);
}
const nodeGyp = process.env.npm_config_node_gyp;
const build = nodeGyp ? spawnSync(process.execPath, [nodeGyp, 'rebuild'], { stdio: 'inherit' }) : null;
if (!build || build.status !== 0) {
  console.warn('@loupe/hugepages: the addon did not build (needs python3, make and a C compiler); the scan kernel will use ordinary pages');
}
