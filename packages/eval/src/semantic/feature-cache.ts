import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Descriptors of a data set on disk, so benchmark reruns skip the CNN: computed in chunks of
 * `chunkRows` rows (each written atomically to `<dir>/<name>.parts/<chunk>.f32`, so several worker
 * processes can share the work and an interrupted run resumes), then joined into `<dir>/<name>.f32`,
 * raw float32 little-endian [rows, dim].
 */
export class FeatureCache {
  constructor(
    readonly dir: string,
    readonly name: string,
    readonly rows: number,
    readonly dim: number,
    readonly chunkRows = 5000,
  ) {}

  get file(): string {
    return path.join(this.dir, `${this.name}.f32`);
  }

  get chunks(): number {
    return Math.ceil(this.rows / this.chunkRows);
  }

  complete(): boolean {
    return existsSync(this.file);
  }

  /** Chunks still to compute, optionally only those of worker `worker` of `workers`. */
  missingChunks(worker = 0, workers = 1): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.chunks; c++) if (c % workers === worker && !existsSync(this.chunkFile(c))) out.push(c);
    return out;
  }

  chunkRange(c: number): [number, number] {
    return [c * this.chunkRows, Math.min(this.rows, (c + 1) * this.chunkRows)];
  }

  writeChunk(c: number, data: Float32Array): void {
    const [from, to] = this.chunkRange(c);
    if (data.length !== (to - from) * this.dim) throw new Error(`chunk ${c}: ${data.length} floats, expected ${(to - from) * this.dim}`);
    mkdirSync(this.partsDir, { recursive: true });
    const tmp = `${this.chunkFile(c)}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    renameSync(tmp, this.chunkFile(c));
  }

  /** Joins the chunks into the final file and removes them. */
  join(): void {
    if (this.missingChunks().length > 0) throw new Error(`${this.name}: chunks missing`);
    const parts = Array.from({ length: this.chunks }, (_, c) => readFileSync(this.chunkFile(c)));
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.concat(parts));
    renameSync(tmp, this.file);
    rmSync(this.partsDir, { recursive: true, force: true });
  }

  load(): Float32Array {
    const bytes = readFileSync(this.file);
    if (bytes.length !== this.rows * this.dim * 4) throw new Error(`${this.file}: ${bytes.length} bytes, expected ${this.rows * this.dim * 4}`);
    // readFileSync of a large file owns its buffer at offset 0; copy otherwise to align.
    return bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : new Float32Array(new Uint8Array(bytes).buffer);
  }

  private get partsDir(): string {
    return path.join(this.dir, `${this.name}.parts`);
  }

  private chunkFile(c: number): string {
    return path.join(this.partsDir, `${String(c).padStart(4, '0')}.f32`);
  }

  /** Stale temp files of crashed workers. */
  static cleanTemp(dir: string): void {
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(path.join(dir, f), { force: true });
  }
}
