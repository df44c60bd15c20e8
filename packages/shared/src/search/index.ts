export * from './hamming-scanner.ts';
