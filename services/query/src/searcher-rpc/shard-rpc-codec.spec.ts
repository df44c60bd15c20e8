import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../searcher/object-info-table.ts';
import { packAnswer, ShardAnswerReader } from '../searcher/shard-answer-codec.ts';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse, ShardRpcFormatError, type ShardReply } from './shard-rpc-codec.ts';

describe('searcher RPC bodies', () => {
  it('carry a request through unchanged, with and without maxDistance', () => {
    const req = {
      generation: 'loupe@0123456789ab',
      timeoutMs: 1999,
      shards: [0, 5, 1023],
      queries: [
        { level: 0, code: Uint8Array.from([1, 2, 3, 255, 0, 9, 8, 7]), k: 10 },
        { level: 5, code: new Uint8Array(32).fill(0xa5), k: 10_000, maxDistance: 0 },
      ],
    };
    const back = decodeRequest(encodeRequest(req));
    expect(back).toEqual(req);
    expect(back.queries[0].code).toBeInstanceOf(Uint8Array);
  });

  it('carry answers and per-shard errors, keys in UTF-8 and keyless ids', () => {
    const infos = new Map<number, ObjectInfo>([
      [7, { key: 'photos/été/猫.jpg', width: 4000, height: 3000 }],
      [4_000_000_000, { key: null, width: 0, height: 0 }],
    ]);
    const results = [[{ id: 7, view: 40, distance: 0 }, { id: 4_000_000_000, view: 0, distance: 256 }, { id: 7, view: 2, distance: 256 }], []];
    const replies: ShardReply[] = [
      { shard: 3, stale: true, answer: packAnswer(results, (id) => infos.get(id)!) },
      { shard: 4, error: 'shard 4 is not loaded here' },
      { shard: 9, stale: false, answer: packAnswer([[], []], () => infos.get(7)!) },
    ];
    const back = decodeResponse(encodeResponse(replies), 2);
    expect(back).toEqual(replies);
    const first = back[0] as Extract<ShardReply, { answer: unknown }>;
    const reader = new ShardAnswerReader(first.answer);
    expect(reader.results()).toEqual(results);
    expect([0, 1].map((h) => reader.objectOf(h))).toEqual([infos.get(7), infos.get(4_000_000_000)]);
  });

  it('refuse an answer whose arrays do not agree', () => {
    const answer = packAnswer([[{ id: 1, view: 0, distance: 3 }]], () => ({ key: 'a.jpg', width: 1, height: 1 }));
    const body = encodeResponse([{ shard: 0, stale: false, answer: { ...answer, hits: Uint32Array.from([1, 0, 3]) } }]);
    expect(() => decodeResponse(body, 1)).toThrow(/names an object it does not carry/);
    const short = encodeResponse([{ shard: 0, stale: false, answer: { ...answer, counts: Uint32Array.from([2]) } }]);
    expect(() => decodeResponse(short, 1)).toThrow(/do not add up/);
  });

  it('refuse what is not a whole body of their kind', () => {
    const req = encodeRequest({ generation: 'loupe', timeoutMs: 5, shards: [1], queries: [{ level: 0, code: new Uint8Array(8), k: 1 }] });
    expect(() => decodeRequest(req.subarray(0, req.length - 1))).toThrow(ShardRpcFormatError);
    expect(() => decodeRequest(Buffer.concat([req, Buffer.from([0])]))).toThrow(/past its end/);
    expect(() => decodeRequest(Buffer.from('{"json":true}'))).toThrow(/not a searcher RPC body/);
    expect(() => decodeResponse(req, 1)).toThrow(/expected LSA2/);
  });
});
