// Messages between InferenceWorker and its thread. Unlike the model worker's protocol (raw pixels
// and token ids), these carry what a server receives: texts, encoded image bytes and labels, so
// that tokenising, decoding, preprocessing and prompt ensembling all happen off the event loop.
import type { ImageErrorKind } from '../image/index.js';
import type { ModelInfo } from '../model/worker.js';
import type { MatmulPrecision } from '../tensor/index.js';

export type InferenceRequest =
  | { id: number; kind: 'load'; path: string; precision: MatmulPrecision; threads: number }
  /** L2-normalised text embeddings; texts longer than the context are truncated. */
  | { id: number; kind: 'embed-texts'; texts: string[] }
  /** The L2-normalised embedding of one encoded image file (JPEG, PNG, ...). */
  | { id: number; kind: 'embed-image'; bytes: Uint8Array; name: string; maxPixels: number }
  /** Zero-shot probabilities of one encoded image over `labels`, with prompt-template ensembling. */
  | { id: number; kind: 'classify'; bytes: Uint8Array; name: string; maxPixels: number; labels: string[]; templateSet: string; templates: string[] };

/** Why a request failed: the input (reported to the client) or anything else (a server fault). */
export type InferenceFailure =
  | { reason: 'image'; imageErrorKind: ImageErrorKind }
  | { reason: 'internal' };

export type InferenceResponse =
  | { id: number; kind: 'loaded'; info: ModelInfo }
  /** `count` rows of `dim` floats, row-major. */
  | { id: number; kind: 'vectors'; vectors: Float32Array; count: number; dim: number }
  /** Every label, best first. */
  | { id: number; kind: 'predictions'; predictions: { label: string; probability: number }[] }
  | ({ id: number; kind: 'error'; message: string } & InferenceFailure);
