// clip-ts weights: every checkpoint format CLIP is published in, saving, the model registry and
// downloads.
//
// Reading a model (what src/model does):
//
//   const ckpt = openCheckpoint(path);           // TorchScript archive, torch.save zip or safetensors,
//                                                // recognised from the bytes, not the extension
//   try {
//     const { tensors, config } = convertToOpenAI(ckpt);   // OpenAI key names, validated
//     for (const [key, entry] of tensors) {
//       const values = entry.toFloat32();         // or entry.readInto(preallocatedFloat32Array)
//     }
//   } finally {
//     ckpt.close();                               // entries cannot be read after close
//   }
//
// Nothing is read until asked: opening parses the ZIP directory and the pickle (or the safetensors
// header) only, and each entry reads its own bytes from the file descriptor when converted, so a
// ViT-L/14 never sits in memory twice. fp16 and bf16 convert to float32 exactly.
//
// Key names (`toOpenAIStateDict` / `convertToOpenAI`): OpenAI's own names are the target. open_clip
// files (torch.save wrappers with `state_dict`, `module.` prefixes, CustomTextCLIP's `text.`) and
// Hugging Face CLIPModel files (q/k/v fused, projections transposed, `position_ids` dropped) are
// mapped onto them; the result is checked key by key and shape by shape against the configuration
// the shapes imply (`inferClipConfig`, OpenAI's build_model rules), and anything missing, unknown
// or misshapen is reported in one CheckpointError.
//
// Every error is a CheckpointError whose message starts with the file and names the member, key,
// field or byte offset at fault. Pickles are never executed: only an allow-list of PyTorch globals
// is interpreted; any other global (say `os.system`) is refused by name.

export type { StorageDType } from './dtype.js';
export { DTYPE_BYTES, halfBitsToNumber, numberToHalfBits, numberToBFloat16Bits } from './dtype.js';
export type { TensorEntry } from './tensor-entry.js';
export { CheckpointError } from './errors.js';
export { openCheckpoint } from './checkpoint.js';
export type { Checkpoint, CheckpointFormat, OpenCheckpointOptions } from './checkpoint.js';
export { toOpenAIStateDict, convertToOpenAI } from './key-mapping.js';
export type { OpenAIStateDict, NamingScheme } from './key-mapping.js';
export { inferClipConfig, expectedOpenAIShapes, isOptionalOpenAIKey } from './clip-config.js';
export type { ClipConfig, VitVisionConfig, ResNetVisionConfig, TextConfig } from './clip-config.js';
export { saveSafetensors } from './save-safetensors.js';
export type { SaveDType, TensorToSave } from './save-safetensors.js';
export {
  OPENAI_MODELS, listModels, findModel, registerModel, registeredModels, resolveCacheDir, cachedModelPath, registryPath,
} from './registry.js';
export type { ModelSource, ModelRegistration } from './registry.js';
export { downloadFile, downloadModel, resolveModelPath } from './download.js';
export type { DownloadOptions } from './download.js';
export type { ProgressSink } from './progress.js';
