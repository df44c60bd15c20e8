import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/** An IDX tensor (the MNIST file format): unsigned bytes with their dimensions. */
export interface IdxTensor {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parses IDX bytes (optionally gzip-compressed): magic 0x0000 0x08 <rank>, then `rank` big-endian
 * uint32 sizes, then the values. Only unsigned-byte data (type 0x08) occurs in (Fashion-)MNIST.
 */
export function parseIdx(bytes: Uint8Array): IdxTensor {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) throw new Error('not an IDX file (bad magic)');
  if (raw[2] !== 0x08) throw new Error(`IDX data type 0x${raw[2].toString(16)} is not unsigned byte`);
  const rank = raw[3];
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(raw.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== offset + count) throw new Error(`IDX file holds ${raw.length - offset} values, its header says ${count}`);
  return { dims, data: new Uint8Array(raw.buffer, raw.byteOffset + offset, count) };
}

export async function readIdx(file: string): Promise<IdxTensor> {
  return parseIdx(await readFile(file));
}
