// Contrastive training of CLIP: the loss, AdamW with CLIP's parameter groups, the schedule,
// gradient caching, data (caption tables and WebDataset shards), checkpoints and the loop.
export { clipLoss, diagonalTargets, type ClipLossOutput } from './clip-loss.js';
export { AdamW, type AdamWOptions, type AdamWParamState } from './adamw.js';
export { isNoDecayParam, paramGroups, type ParamGroup, type ParamGroupOptions } from './param-groups.js';
export { constantSchedule, cosineSchedule, type CosineScheduleOptions, type LrSchedule } from './schedule.js';
export { clipGradNorm, globalGradNorm } from './grad-norm.js';
export { fullBatchBackward, gradCacheBackward, trainableTowers, type ContrastiveBatch, type ForwardBackwardResult } from './grad-cache.js';
export { MAX_LOGIT_SCALE, clampLogitScale, trainStep, type TrainStepOptions, type TrainStepResult } from './train-step.js';
export { datasetFingerprint, imageName, parseSampleFilter, splitHeldOut, type ImageLocation, type PairDataset, type PairSample, type SampleFilter } from './pair-dataset.js';
export { readCaptionTable, tableFormat, type CaptionTableOptions, type TableFormat } from './caption-table.js';
export { expandShardSpec, indexShard, isShardSpec, type ShardIndex } from './webdataset.js';
export { scanTar, TarFormatError, type TarMember, type TarScan } from './tar-reader.js';
export { loadPairDataset } from './data-sources.js';
export { SampleDecoder, type DecodeResult, type SampleDecoderOptions } from './sample-decoder.js';
export { epochOrder, trainingBatches, type BatchStreamOptions, type DataCursor, type SkippedSample, type TrainingBatch } from './data.js';
export { PRESETS, presetConfig, presetNames, resolveConfig, validateConfig } from './presets.js';
export { loadCheckpoint, readLatest, restoreOptimizer, saveCheckpoint, type CheckpointRecord, type LoadedCheckpoint, type TrainState } from './checkpoint.js';
export { MetricsLog, type EvalMetrics, type MetricsRow, type TrainMetrics } from './metrics-log.js';
export { retrievalRecall, type RecallAtK } from './retrieval.js';
export { evaluate, type EvaluationSetup, type ZeroShotSetup } from './evaluate.js';
export { writeTrainingPlots } from './plots.js';
export { readRunRecord, train, type RunOptions, type RunRecord, type SessionOptions, type StepInfo, type TrainInput, type TrainResult } from './trainer.js';
