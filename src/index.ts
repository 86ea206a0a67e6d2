// clip-ts: CLIP in TypeScript. The library's public entry point.
export * from './tensor/index.js';
export * from './text/index.js';
export {
  decodeImage, preprocess, preprocessFile, preprocessInto, randomResizedCrop, ImageBatchLoader, ImageDecodeError,
  CLIP_MEAN, CLIP_STD, type DecodedImage, type ImageBatch, type ImageBatchLoaderOptions,
} from './image/index.js';
export * from './model/index.js';
export {
  openCheckpoint, toOpenAIStateDict, saveSafetensors, type Checkpoint, type TensorEntry,
} from './weights/index.js';
