// What the HTTP server needs from the model and the index, and nothing more. The server only
// speaks this interface, so hostile-request tests run against a fake in milliseconds while the
// real implementation (clip-service.ts) binds an ImageIndex and a model worker.
//
// Implementations signal bad input by throwing ApiError (an undecodable upload is 400
// invalid_image); any other error is treated as an internal failure.

/** One search result, best first. `name` is the file's base name, never its full path. */
export interface ScoredImage {
  id: number;
  /** Cosine similarity between the query and the image, in [-1, 1]. */
  score: number;
  name: string;
  /** File size in bytes. */
  size: number;
}

/** One label of a zero-shot classification, with its softmax probability. */
export interface LabelProbability {
  label: string;
  probability: number;
}

/** An indexed image the server may read from disk: only ever looked up by id. */
export interface ServedImage {
  id: number;
  /** Absolute path from the index, not from any request. */
  path: string;
  size: number;
  mtimeMs: number;
  /** Content hash from the index; used as the HTTP entity tag. */
  sha256: string;
}

export interface ServiceInfo {
  /** The model's name or file (base name only). */
  model: string;
  /** Embedding dimension. */
  dim: number;
  /** The model's input resolution. */
  imageSize: number;
  /** Template set used for classification when the request names none. */
  templates: string;
}

/** An uploaded image: its bytes and a name used in error messages (the form file name, or "upload"). */
export interface ImageUpload {
  bytes: Uint8Array;
  name: string;
}

export interface ClassifyRequest {
  image: ImageUpload;
  /** Distinct, non-empty labels. */
  labels: string[];
  /** A built-in template set name (imagenet, simple, emoji, a dataset of CLIP's prompts.md), or the server's default. */
  templates?: string;
}

/** L2-normalised embeddings; `texts` in request order. */
export interface Embeddings {
  dim: number;
  texts: Float32Array[];
  image?: Float32Array;
}

/** Options every inference call receives. */
export interface CallOptions {
  /** Aborted when the request gave up (timeout, client gone); the result will be discarded. */
  signal?: AbortSignal;
}

export interface ClipService {
  info(): ServiceInfo;
  /** Number of indexed images. */
  count(): Promise<number>;
  searchText(query: string, top: number, opts?: CallOptions): Promise<ScoredImage[]>;
  searchImage(image: ImageUpload, top: number, opts?: CallOptions): Promise<ScoredImage[]>;
  /** Every label with its probability, best first (probabilities sum to 1). */
  classify(request: ClassifyRequest, opts?: CallOptions): Promise<LabelProbability[]>;
  embed(texts: readonly string[], image: ImageUpload | undefined, opts?: CallOptions): Promise<Embeddings>;
  /** The indexed image with this id, or undefined. */
  image(id: number): Promise<ServedImage | undefined>;
  close(): Promise<void>;
}
