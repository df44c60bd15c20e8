export * from './semantic/index.ts';
