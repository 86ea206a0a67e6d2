// Image decoding and Pillow-exact CLIP preprocessing.
export type { DecodedImage, Image8, ImageI, PillowMode, Rect } from './image.js';
export { MODE_CHANNELS } from './image.js';
export { ImageDecodeError, type ImageErrorKind } from './errors.js';
export { decodeImage, DEFAULT_MAX_PIXELS, type DecodeOptions } from './decode.js';
export { resizeLikePillow, type ResizeOptions } from './resize.js';
export type { ResampleEngine } from './resample-bicubic.js';
export { toRgb8 } from './convert-rgb.js';
export { CLIP_MEAN, CLIP_STD, normalizeRgbInto, type Normalization } from './normalize.js';
export { resizeCropGeometry, roundHalfEven, type ResizeCropGeometry } from './center-crop.js';
export { preprocess, preprocessFile, preprocessInto, resizeCenterCropRgb, type PreprocessOptions } from './preprocess.js';
export { SeededRandom } from './seeded-random.js';
export {
  randomResizedCrop, randomResizedCropBox, randomResizedCropInto, randomResizedCropRgb, type RandomResizedCropOptions,
} from './random-resized-crop.js';
export { ImageBatchLoader, type ImageBatch, type ImageBatchLoaderOptions, type SkippedImage } from './batch-loader.js';
