export * from './canonical-image.ts';
