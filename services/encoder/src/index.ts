export { startEncoder } from './start-encoder.ts';
export { EncoderService, UnencodableJobError, type EncodeOutcome } from './services/encoder.service.ts';
export { MicroBatcher } from './batching/micro-batcher.ts';
