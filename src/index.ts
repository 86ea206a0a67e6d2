// clip-ts: CLIP in TypeScript. The library's public entry point.
export * from './tensor/index.js';
export * from './text/index.js';
export * from './image/index.js';
export * from './model/index.js';
export {
  openCheckpoint, toOpenAIStateDict, convertToOpenAI, inferClipConfig, saveSafetensors, CheckpointError,
  OPENAI_MODELS, listModels, findModel, registerModel, resolveCacheDir, cachedModelPath,
  downloadFile, downloadModel, resolveModelPath,
  type Checkpoint, type CheckpointFormat, type TensorEntry, type OpenAIStateDict, type ModelSource,
  type ModelRegistration, type DownloadOptions, type StorageDType,
} from './weights/index.js';
export { buildZeroShotClassifier, ZeroShotClassifier } from './eval/zeroshot.js';
export { resolveTemplates, fillTemplate, imagenetTemplates } from './eval/templates.js';
export { imagenetClassNames, builtinClasses, loadLabelsFile, type ClassPrompt } from './eval/class-names.js';
export { TextEmbeddingCache } from './eval/text-embedding-cache.js';
export { evaluateZeroShot, zeroShotMetrics, type ZeroShotReport } from './eval/zeroshot-eval.js';
export { ConfusionMatrix } from './eval/confusion.js';
export { readLabelledSource } from './eval/labelled-table.js';
export { buildEmojiDataset, planEmojiDataset } from './datasets/emoji.js';
export { minimizeLbfgs, type LbfgsOptions, type LbfgsResult } from './eval/lbfgs.js';
export { fitLogisticRegression, LogisticRegressionModel, type LogisticRegressionOptions } from './eval/logistic-regression.js';
export { linearProbe, sweepC, searchC, type LabelledFeatures, type LinearProbeResult } from './eval/linear-probe.js';
export { fewShotEvaluation, DEFAULT_SHOTS, type FewShotResult } from './eval/few-shot.js';
export { extractFeatures, readFeatureFile, writeFeatureFile, type FeatureSet } from './eval/features.js';
export { readLabelledImages, type LabelledImages } from './eval/labelled-images.js';
export { top1Accuracy, meanPerClassAccuracy } from './eval/metrics.js';
export * from './train/index.js';
export * from './index/index.js';
export { ClipServer, IndexedClipService, DEFAULT_LIMITS, type ClipService, type ServerLimits } from './server/index.js';
