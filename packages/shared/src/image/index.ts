export * from './canonical-image.ts';
export * from './image-rejected-error.ts';
export * from './format-sniffer.ts';
export * from './prepare-image.ts';
