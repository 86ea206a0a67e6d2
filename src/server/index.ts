// The HTTP server of `clip-ts serve`, usable as a library with any ClipService.
export { ApiError, type ApiErrorCode, type ErrorBody } from './api-error.js';
export { IndexedClipService, type IndexedClipServiceOptions } from './clip-service.js';
export { InferenceWorker, InferenceImageError, type InferenceWorkerOptions } from './inference-worker.js';
export { JobQueue, type JobQueueLimits, type JobQueueStats } from './job-queue.js';
export { DEFAULT_LIMITS, resolveLimits, type ServerLimits } from './limits.js';
export { ClipServer, type ClipServerOptions } from './server.js';
export type {
  CallOptions, ClassifyRequest, ClipService, Embeddings, ImageUpload, LabelProbability, ScoredImage, ServedImage, ServiceInfo,
} from './service.js';
