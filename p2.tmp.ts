import { randomFillSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
for (const [cb, n] of [[8, 10_000_000], [16, 4_000_000], [32, 4_000_000]] as const) {
  const codes = randomFillSync(new Uint8Array(n*cb));
  writeFileSync('/tmp/codes.bin', codes); writeFileSync('/tmp/q.bin', randomFillSync(new Uint8Array(cb*8)));
  console.log(cb, execFileSync('/tmp/pscan', ['/tmp/codes.bin', String(cb), String(n), '/tmp/q.bin', '8', '10', '2']).toString().slice(0,80));
}
