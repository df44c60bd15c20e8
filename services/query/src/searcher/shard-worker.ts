import { parentPort, threadId, workerData } from 'node:worker_threads';
import { useHugePages, useNativeScan } from '@loupe/native';
import { createLogger, createRedis } from '@loupe/shared/searcher-core';
import { packAnswer } from './shard-answer-codec.ts';
import { SearchInputError } from './mirror-types.ts';
import { ShardMirror } from './shard-mirror.ts';
import type { FromWorker, ShardWorkerData, ToWorker, WireQuery } from './worker-protocol.ts';

/**
 * Body of a shard worker thread: owns the mirrors of its shards and answers search and stats
 * messages from the SearcherPool. Started through startTsWorker.
 */
const data = workerData as ShardWorkerData;
// Before any mirror makes its kernels.
useHugePages(data.hugePages);
useNativeScan(data.nativeScan);
const port = parentPort!;
const log = createLogger('query', data.logLevel).child({ worker: threadId });
// Mirrors read codes when the stream says they changed: such a read waits out a short outage.
const redis = createRedis(data.redis, { name: `loupe-query-worker-${threadId}`, waitThroughOutages: true });
const post = (msg: FromWorker) => port.postMessage(msg);

const mirrors = new Map<number, ShardMirror>();
for (const shard of data.shards) {
  const mirror = new ShardMirror(redis, {
    shard,
    layout: data.layout,
    logger: log,
    chunkBytes: data.chunkBytes,
    blockMs: data.blockMs,
    mihMinRecords: data.mihMinRecords,
  });
  mirrors.set(shard, mirror);
  void startWithRetry(mirror);
}

async function startWithRetry(mirror: ShardMirror): Promise<void> {
  for (let backoff = 250; ; backoff = Math.min(backoff * 2, 10_000)) {
    try {
      await mirror.start();
      post({ type: 'ready', shard: mirror.shard });
      return;
    } catch (e) {
      log.error({ shard: mirror.shard, err: String(e) }, 'shard load failed; retrying');
      post({ type: 'load-failed', shard: mirror.shard, error: String(e) });
      await new Promise((r) => setTimeout(r, backoff));
    }
  }
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'search':
      for (const shard of msg.shards) searchShard(msg.reqId, shard, msg.queries);
      return;
    case 'stats':
      post({ type: 'stats', reqId: msg.reqId, stats: [...mirrors.values()].map((m) => m.stats()) });
      return;
    case 'stall': {
      const until = Date.now() + msg.ms;
      while (Date.now() < until) {
        // busy on purpose: simulates a stuck scan
      }
      return;
    }
  }
});

function searchShard(reqId: number, shard: number, queries: WireQuery[]): void {
  const mirror = mirrors.get(shard);
  if (!mirror?.isReady()) {
    post({ type: 'result', reqId, shard, error: 'shard not loaded yet' });
    return;
  }
  try {
    const results = mirror.searchMany(queries);
    const answer = packAnswer(results, (id) => mirror.describe(id));
    post({ type: 'result', reqId, shard, answer, stale: !mirror.isCurrent() });
  } catch (e) {
    post({ type: 'result', reqId, shard, error: String(e), inputError: e instanceof SearchInputError });
  }
}
