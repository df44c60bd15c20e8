import { endianness } from 'node:os';
import type { ShardAnswer } from '../searcher/shard-answer-codec.ts';
import type { WireQuery } from '../searcher/worker-protocol.ts';

/**
 * The searcher RPC's bodies, binary: codes travel as bytes, hits as fixed-width records, keys as
 * UTF-8. All integers big-endian. A body starts with its magic, so a stray or truncated body is
 * refused instead of misread (ShardRpcFormatError).
 *
 * Request:  "LSQ1" | u16 generation length, generation UTF-8 | u32 timeout ms | u16 shard count,
 *           u16 shard... | u16 query count, per query: u8 level, u32 k, i32 maxDistance (-1: none),
 *           u16 code length, code.
 * Response: "LSA2" | u16 shard count, per shard: u16 shard, u8 status (0 answered, 1 failed),
 *           then if failed u16 message length, message UTF-8; if answered u8 stale (0/1), u32 hit
 *           count H, u32 object count N, u32 key bytes B, then the answer's arrays as they lie in
 *           memory (ShardAnswer, little-endian): counts u32 x query count, hits u32 x 3H,
 *           objects u32 x 3N, keyLengths i32 x N, then the keys, B bytes of UTF-8. The arrays are
 *           copied, not read field by field: an image query's answers hold thousands of hits.
 */
export interface ShardSearchRequest {
  /** Index generation (namespace) the codes were made for: a searcher answers only from it. */
  generation: string;
  /** The searcher's time budget for the shards (the router's remaining deadline). */
  timeoutMs: number;
  shards: number[];
  queries: WireQuery[];
}

export type ShardReply = { shard: number; answer: ShardAnswer; stale: boolean } | { shard: number; error: string };

export class ShardRpcFormatError extends Error {}

const REQUEST_MAGIC = 'LSQ1';
const RESPONSE_MAGIC = 'LSA2';

// The answers' arrays travel as the machine holds them; every platform Node runs Loupe on is little-endian.
if (endianness() !== 'LE') throw new Error('the searcher RPC needs a little-endian machine');

export function encodeRequest(req: ShardSearchRequest): Buffer {
  const w = new ByteWriter();
  w.ascii(REQUEST_MAGIC);
  w.string16(req.generation);
  w.u32(req.timeoutMs);
  w.u16(req.shards.length);
  for (const s of req.shards) w.u16(s);
  w.u16(req.queries.length);
  for (const q of req.queries) {
    w.u8(q.level);
    w.u32(q.k);
    w.i32(q.maxDistance ?? -1);
    w.u16(q.code.length);
    w.bytes(q.code);
  }
  return w.done();
}

export function decodeRequest(body: Buffer): ShardSearchRequest {
  const r = new ByteReader(body, REQUEST_MAGIC);
  const generation = r.string16();
  const timeoutMs = r.u32();
  const shards = Array.from({ length: r.u16() }, () => r.u16());
  const queries = Array.from({ length: r.u16() }, (): WireQuery => {
    const level = r.u8();
    const k = r.u32();
    const max = r.i32();
    const code = new Uint8Array(r.bytes(r.u16())); // its own copy: the body's buffer may be shared
    return max < 0 ? { level, code, k } : { level, code, k, maxDistance: max };
  });
  r.end();
  return { generation, timeoutMs, shards, queries };
}

export function encodeResponse(replies: ShardReply[]): Buffer {
  const w = new ByteWriter();
  w.ascii(RESPONSE_MAGIC);
  w.u16(replies.length);
  for (const reply of replies) {
    w.u16(reply.shard);
    if ('error' in reply) {
      w.u8(1);
      w.string16(reply.error.slice(0, 1000));
      continue;
    }
    const a = reply.answer;
    const keys = Buffer.from(a.keys, 'utf8');
    w.u8(0);
    w.u8(reply.stale ? 1 : 0);
    w.u32(a.hits.length / 3);
    w.u32(a.keyLengths.length);
    w.u32(keys.length);
    for (const array of [a.counts, a.hits, a.objects, a.keyLengths, keys]) w.bytes(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  }
  return w.done();
}

/** `queries`: how many hit counts each answered shard carries (the request's query count). */
export function decodeResponse(body: Buffer, queries: number): ShardReply[] {
  const r = new ByteReader(body, RESPONSE_MAGIC);
  const replies = Array.from({ length: r.u16() }, (): ShardReply => {
    const shard = r.u16();
    if (r.u8() === 1) return { shard, error: r.string16() };
    const stale = r.u8() === 1;
    const hitCount = r.u32();
    const objectCount = r.u32();
    const keyBytes = r.u32();
    const answer: ShardAnswer = {
      counts: new Uint32Array(r.copy(4 * queries)),
      hits: new Uint32Array(r.copy(12 * hitCount)),
      objects: new Uint32Array(r.copy(12 * objectCount)),
      keyLengths: new Int32Array(r.copy(4 * objectCount)),
      keys: r.bytes(keyBytes).toString('utf8'),
    };
    checkAnswer(answer);
    return { shard, answer, stale };
  });
  r.end();
  return replies;
}

/** An answer the merge can read without going out of its arrays: counts that add up, objects that exist, keys that fit. */
function checkAnswer(a: ShardAnswer): void {
  const hits = a.hits.length / 3;
  const objects = a.keyLengths.length;
  if (a.counts.reduce((n, c) => n + c, 0) !== hits) throw new ShardRpcFormatError('searcher RPC answer: hit counts do not add up to its hits');
  for (let h = 0; h < hits; h++) if (a.hits[3 * h] >= objects) throw new ShardRpcFormatError('searcher RPC answer: a hit names an object it does not carry');
  if (a.keyLengths.reduce((n, l) => n + Math.max(0, l), 0) !== a.keys.length) throw new ShardRpcFormatError('searcher RPC answer: key lengths do not match its keys');
}

/** Appends big-endian fields to a buffer that grows by doubling. */
class ByteWriter {
  private buf = Buffer.allocUnsafe(4096);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.at = this.buf.writeUInt8(v, this.at);
  }
  u16(v: number): void {
    this.room(2);
    this.at = this.buf.writeUInt16BE(v, this.at);
  }
  u32(v: number): void {
    this.room(4);
    this.at = this.buf.writeUInt32BE(v, this.at);
  }
  i32(v: number): void {
    this.room(4);
    this.at = this.buf.writeInt32BE(v, this.at);
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  ascii(s: string): void {
    this.bytes(Buffer.from(s, 'ascii'));
  }
  string16(s: string): void {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 0xffff) throw new RangeError('string too long for the searcher RPC');
    this.u16(b.length);
    this.bytes(b);
  }
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/** Reads big-endian fields and copies out arrays, refusing a body that ends early or goes on past its last field. */
class ByteReader {
  private at = 0;

  constructor(
    private readonly buf: Buffer,
    magic: string,
  ) {
    if (buf.length < magic.length || buf.toString('ascii', 0, magic.length) !== magic) throw new ShardRpcFormatError(`not a searcher RPC body (expected ${magic})`);
    this.at = magic.length;
  }
  private take(n: number): number {
    if (this.at + n > this.buf.length) throw new ShardRpcFormatError('searcher RPC body ends early');
    const at = this.at;
    this.at += n;
    return at;
  }
  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }
  u16(): number {
    return this.buf.readUInt16BE(this.take(2));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }
  i32(): number {
    return this.buf.readInt32BE(this.take(4));
  }
  bytes(n: number): Buffer {
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }
  /** The next n bytes in an ArrayBuffer of their own (aligned for a typed array over it). */
  copy(n: number): ArrayBuffer {
    const at = this.take(n);
    return new Uint8Array(this.buf.subarray(at, at + n)).buffer;
  }
  string16(): string {
    return this.bytes(this.u16()).toString('utf8');
  }
  end(): void {
    if (this.at !== this.buf.length) throw new ShardRpcFormatError(`searcher RPC body has ${this.buf.length - this.at} bytes past its end`);
  }
}
