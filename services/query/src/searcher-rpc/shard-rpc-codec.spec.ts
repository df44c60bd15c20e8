import { describe, expect, it } from 'vitest';
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
    const replies: ShardReply[] = [
      {
        shard: 3,
        stale: true,
        answer: {
          results: [[{ id: 7, view: 40, distance: 0 }, { id: 4_000_000_000, view: 0, distance: 256 }], []],
          objects: new Map([
            [7, { key: 'photos/été/猫.jpg', width: 4000, height: 3000 }],
            [4_000_000_000, { key: null, width: 0, height: 0 }],
          ]),
        },
      },
      { shard: 4, error: 'shard 4 is not loaded here' },
      { shard: 9, stale: false, answer: { results: [[], []], objects: new Map() } },
    ];
    expect(decodeResponse(encodeResponse(replies), 2)).toEqual(replies);
  });

  it('refuse what is not a whole body of their kind', () => {
    const req = encodeRequest({ generation: 'loupe', timeoutMs: 5, shards: [1], queries: [{ level: 0, code: new Uint8Array(8), k: 1 }] });
    expect(() => decodeRequest(req.subarray(0, req.length - 1))).toThrow(ShardRpcFormatError);
    expect(() => decodeRequest(Buffer.concat([req, Buffer.from([0])]))).toThrow(/past its end/);
    expect(() => decodeRequest(Buffer.from('{"json":true}'))).toThrow(/not a searcher RPC body/);
    expect(() => decodeResponse(req, 1)).toThrow(/expected LSA1/);
  });
});
