import { parseSource, type LoupeConfig } from '../config/config.ts';
import type { ObjectSource } from './object-source.ts';
import { FileObjectSource } from './file-object-source.ts';
import { S3ObjectSource } from './s3-object-source.ts';

export interface ConfiguredSource {
  source: ObjectSource;
  /** Key prefix to list (the path part of s3://bucket/prefix; '' for a folder). */
  prefix: string;
}

/** The ObjectSource that LOUPE_SOURCE names. */
export function createObjectSource(
  config: Pick<LoupeConfig, 'LOUPE_SOURCE' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_FORCE_PATH_STYLE'>,
): ConfiguredSource {
  const parsed = parseSource(config.LOUPE_SOURCE);
  if (parsed.kind === 's3') return { source: new S3ObjectSource(parsed.bucket, config, parsed.prefix), prefix: parsed.prefix };
  return { source: new FileObjectSource(parsed.dir), prefix: '' };
}

/** The url of the source LOUPE_SOURCE names (ObjectSource.url), without opening it: what ingest keys its state by. */
export function sourceUrlOf(loupeSource: string): string {
  const parsed = parseSource(loupeSource);
  return parsed.kind === 's3' ? S3ObjectSource.urlOf(parsed.bucket, parsed.prefix) : FileObjectSource.urlOf(parsed.dir);
}
