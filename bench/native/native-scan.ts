/**
 * Compiles bench/native/popcount_scan.c with gcc -O3 -march=native into a temp dir and runs it
 * on codes/queries written to temp files, for the search benchmark's native baseline.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NativeScanResult {
  variant: string;
  mcodes_per_s: number;
  ms_per_query: number;
  /** Top-k of the first query: [record, distance] pairs. */
  first: [number, number][];
}

export class NativeScan {
  private readonly dir = mkdtempSync(join(tmpdir(), 'loupe-bench-native-'));
  readonly binary = join(this.dir, 'popcount_scan');

  /** Compiles the baseline; returns an error message instead when gcc is missing or fails. */
  compile(): string | null {
    const source = new URL('./popcount_scan.c', import.meta.url).pathname;
    try {
      execFileSync('gcc', ['-O3', '-march=native', '-o', this.binary, source], { stdio: 'pipe' });
      return null;
    } catch (err) {
      return `gcc failed: ${(err as Error).message.split('\n')[0]}`;
    }
  }

  run(codes: Uint8Array, count: number, codeBytes: number, queries: Uint8Array, k: number, reps: number): NativeScanResult {
    const codesFile = join(this.dir, 'codes.bin');
    const queriesFile = join(this.dir, 'queries.bin');
    writeFileSync(codesFile, codes.subarray(0, count * codeBytes));
    writeFileSync(queriesFile, queries);
    const nq = queries.length / codeBytes;
    const out = execFileSync(this.binary, [codesFile, String(codeBytes), String(count), queriesFile, String(nq), String(k), String(reps)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    rmSync(codesFile);
    return JSON.parse(out.trim().split('\n').pop()!) as NativeScanResult;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
