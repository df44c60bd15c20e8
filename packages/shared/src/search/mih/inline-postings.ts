import {
  PROBE_TABLE_HEADER_BYTES,
  PROBE_OUT_CAPACITY,
  PROBE_OUT_OFFSET,
  PROBE_TABLES_OFFSET,
  PROBE_VALUES_CAPACITY,
  PROBE_VALUES_OFFSET,
  QUERY_OFFSET,
} from '../kernel/kernel-layout.ts';
import { wasmScanModule } from '../kernel/wasm-scan-module.ts';
import type { MihLayout } from './mih-layout.ts';
import type { PostingTable } from './posting-table.ts';

type ProbeFn = (valueStart: number, valueEnd: number, threshold: number, tableAddr: number) => number;

/**
 * MIH postings with a copy of each entry's code, in bucket order (64-bit codes, substrings of up
 * to 16 bits), in a wasm memory of their own: verifying a bucket is one sequential read in the
 * kernel instead of a random read of the record's code per entry, which dominated exact k-NN on
 * large indexes. Costs 12 bytes per record per substring (e.g. 60 B for a 64-bit code in 5 parts). Holds the CSR base of the posting
 * tables as of the last build; records changed since are the MultiIndexHash's to handle.
 */
export class InlinePostings {
  private readonly memory: WebAssembly.Memory;
  private readonly probe: ProbeFn;
  private words: Uint32Array;
  private bytes: Uint8Array;
  private tableAddrs: number[] = [];

  /** True for the layouts it stores: 64-bit codes (stride 8) in substrings of up to 16 bits. */
  static supports(layout: MihLayout, stride: number): boolean {
    return stride === 8 && layout.bits === 64 && layout.widths[0] <= 16 && wasmScanModule() !== null;
  }

  constructor() {
    const exp = new WebAssembly.Instance(wasmScanModule()!, {}).exports as Record<string, unknown>;
    this.memory = exp.memory as WebAssembly.Memory;
    this.probe = exp.probe8 as ProbeFn;
    this.words = new Uint32Array(this.memory.buffer);
    this.bytes = new Uint8Array(this.memory.buffer);
  }

  /** False until the first build (the tables' bases are empty then too). */
  get built(): boolean {
    return this.tableAddrs.length > 0;
  }

  /** Copies the tables' CSR bases, with each entry's code from `codes` (stride 8), into the memory. */
  build(tables: PostingTable[], codes: Uint8Array): void {
    const offsetsBytes = (t: PostingTable) => Math.ceil((4 * t.base().offsets.length) / 8) * 8;
    const sizes = tables.map((t) => PROBE_TABLE_HEADER_BYTES + offsetsBytes(t) + 12 * t.base().ids.length);
    const total = PROBE_TABLES_OFFSET + sizes.reduce((a, b) => a + Math.ceil(b / 8) * 8, 0);
    if (total > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((total - this.memory.buffer.byteLength) / 65536));
      this.words = new Uint32Array(this.memory.buffer);
      this.bytes = new Uint8Array(this.memory.buffer);
    }
    this.tableAddrs = [];
    let addr = PROBE_TABLES_OFFSET;
    // Codes as u32 pairs (the scanner's code area is page aligned).
    const code32 = new Uint32Array(codes.buffer, codes.byteOffset, codes.length >> 2);
    const w = this.words;
    tables.forEach((t, p) => {
      const { offsets, ids } = t.base();
      this.tableAddrs.push(addr);
      const codesAt = addr + PROBE_TABLE_HEADER_BYTES + offsetsBytes(t);
      const idsAt = codesAt + 8 * ids.length;
      w[addr >> 2] = codesAt;
      w[(addr >> 2) + 1] = idsAt;
      w.set(offsets, (addr + PROBE_TABLE_HEADER_BYTES) >> 2);
      w.set(ids, idsAt >> 2);
      for (let i = 0, at = codesAt >> 2; i < ids.length; i++, at += 2) {
        w[at] = code32[2 * ids[i]];
        w[at + 1] = code32[2 * ids[i] + 1];
      }
      addr += Math.ceil(sizes[p] / 8) * 8;
    });
  }

  setQuery(query: Uint8Array): void {
    this.bytes.set(query.subarray(0, 8), QUERY_OFFSET);
  }

  /**
   * Emits (record, distance) for every entry of part `part`'s base buckets `values[0..n)` within
   * `threshold` of the query (setQuery); returns the entries visited. A bucket larger than one
   * call's out area is handed to `oversize` instead (the caller verifies it another way).
   */
  verify(
    part: number,
    values: Uint32Array,
    n: number,
    threshold: number,
    table: PostingTable,
    emit: (record: number, distance: number) => void,
    oversize: (value: number) => void,
  ): number {
    const addr = this.tableAddrs[part];
    const w = this.words;
    const list = PROBE_VALUES_OFFSET >> 2;
    const out = PROBE_OUT_OFFSET >> 2;
    let i = 0;
    let visited = 0;
    while (i < n) {
      // One call covers as many values as the list holds and, by their bucket sizes, the out area.
      let listed = 0;
      let entries = 0;
      for (; i < n && listed < PROBE_VALUES_CAPACITY; i++) {
        const v = values[i];
        const size = table.baseSize(v);
        if (size > PROBE_OUT_CAPACITY) {
          oversize(v);
          continue;
        }
        if (entries + size > PROBE_OUT_CAPACITY) break;
        entries += size;
        w[list + listed++] = v;
      }
      const emitted = this.probe(0, listed, threshold, addr);
      for (let j = 0; j < emitted; j++) emit(w[out + 2 * j], w[out + 2 * j + 1]);
      visited += entries;
    }
    return visited;
  }
}
