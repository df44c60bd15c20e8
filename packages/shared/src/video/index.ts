export * from './ffmpeg-binary.ts';
export * from './ffmpeg-log.ts';
export * from './frame-key.ts';
export * from './keyframe-extractor.ts';
export * from './video-format.ts';
export * from './video-rejected-error.ts';
