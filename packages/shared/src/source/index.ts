export * from './object-source.ts';
export * from './file-object-source.ts';
export * from './s3-object-source.ts';
export * from './create-object-source.ts';
export * from './source-errors.ts';
