import { workerData } from 'node:worker_threads';
import { HammingScanner, MultiIndexHash } from '../../packages/shared/src/search/index.ts';
import { SplitChannel, type SplitWorkerData } from './split-channel.ts';

/** Serves the upper half of a split index: waits for a query, answers it from its own half. */
const data = workerData as SplitWorkerData;
const scanner = new HammingScanner(data.codeBytes, { capacity: data.codes.length / data.codeBytes });
scanner.append(data.codes);
const mih = MultiIndexHash.fromScanner(scanner);
const channel = new SplitChannel(data.shared, data.codeBytes);
channel.ready();
for (;;) {
  const req = channel.nextRequest();
  if (req === null) break;
  const hits = mih.search(req.query, { k: req.k, strategy: req.strategy });
  channel.answer(hits, data.firstRecord, mih.lastSearch?.strategy === 'mih');
}
