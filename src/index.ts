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
export { buildZeroShotClassifier, ZeroShotClassifier } from './eval/zeroshot.js';
export { resolveTemplates, fillTemplate, imagenetTemplates } from './eval/templates.js';
export { imagenetClassNames, builtinClasses, loadLabelsFile, type ClassPrompt } from './eval/class-names.js';
export { TextEmbeddingCache } from './eval/text-embedding-cache.js';
export { evaluateZeroShot, zeroShotMetrics, type ZeroShotReport } from './eval/zeroshot-eval.js';
export { ConfusionMatrix } from './eval/confusion.js';
export { readLabelledSource } from './eval/labelled-table.js';
export { buildEmojiDataset, planEmojiDataset } from './datasets/emoji.js';
