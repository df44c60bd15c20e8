export * from './semantic/index.ts';
export * from './copy-detection/index.ts';
export * from './robust/index.ts';
