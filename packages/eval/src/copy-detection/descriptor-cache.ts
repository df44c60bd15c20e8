import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HashModel } from '@loupe/shared';

/**
 * Float descriptors on disk, so a rerun of the benchmark skips the CNN: one file per key,
 * `<dir>/<name>-<hash>.f32` (float32 little-endian, [rows, perRow, dim]), where the hash covers
 * everything the descriptors depend on (model descriptor config, backbone, plan, query set).
 */
export class DescriptorCache {
  constructor(readonly dir: string) {}

  static key(parts: unknown): string {
    return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
  }

  /** A digest of a model's head weights, for the keys of cached codes (they depend on the head). */
  static headDigest(model: HashModel): string {
    const head = createHash('sha256');
    for (const t of model.head.toSpec().tensors) head.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    return head.digest('hex');
  }

  file(name: string, key: string): string {
    return path.join(this.dir, `${name}-${key}.f32`);
  }

  /** [rows][perRow] descriptors of `dim` floats, computed by `compute` (in row chunks) when missing. */
  async getOrCompute(
    name: string,
    key: string,
    shape: { rows: number; perRow: number; dim: number },
    compute: (from: number, to: number) => Promise<Float32Array[][]>,
    chunkRows = 32,
    progress?: (done: number, rows: number) => void,
  ): Promise<{ rows: Float32Array[][]; cached: boolean }> {
    const file = this.file(name, key);
    const { rows, perRow, dim } = shape;
    if (existsSync(file)) {
      const b = readFileSync(file);
      if (b.byteLength === rows * perRow * dim * 4) return { rows: split(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4), shape), cached: true };
    }
    const all = new Float32Array(rows * perRow * dim);
    for (let from = 0; from < rows; from += chunkRows) {
      const to = Math.min(rows, from + chunkRows);
      const got = await compute(from, to);
      got.forEach((row, r) => {
        if (row.length !== perRow) throw new Error(`descriptor cache ${name}: row ${from + r} has ${row.length} descriptors, expected ${perRow}`);
        row.forEach((d, j) => all.set(d, ((from + r) * perRow + j) * dim));
      });
      progress?.(to, rows);
    }
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.from(all.buffer));
    renameSync(tmp, file);
    return { rows: split(all, shape), cached: false };
  }
}

function split(a: Float32Array, { rows, perRow, dim }: { rows: number; perRow: number; dim: number }): Float32Array[][] {
  return Array.from({ length: rows }, (_, r) => Array.from({ length: perRow }, (_, j) => a.subarray((r * perRow + j) * dim, (r * perRow + j + 1) * dim)));
}
