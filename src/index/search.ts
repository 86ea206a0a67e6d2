// Queries against an image index: a text (embedded by the text tower) or an image (by the image
// tower), each L2-normalised, so the ranking is by cosine similarity with the indexed images.
import type { ClipModel } from '../model/clip.js';
import { preprocessFile } from '../image/index.js';
import { l2Normalize, noGrad, type Tensor } from '../tensor/index.js';
import { tokenize } from '../text/index.js';
import type { ImageIndex, SearchHit } from './image-index.js';

export interface TextQueryOptions {
  /** Cut a text longer than the model's context instead of failing. Default true: a query is not a caption to be checked. */
  truncate?: boolean;
}

function unitRow(features: Tensor): Float32Array {
  const unit = noGrad(() => l2Normalize(features));
  return Float32Array.from(unit.data.subarray(0, unit.dim(1)));
}

/** The normalised text embedding of `text`. */
export function textQueryVector(model: ClipModel, text: string, opts: TextQueryOptions = {}): Float32Array {
  if (text.trim() === '') throw new RangeError('the text query is empty');
  const batch = tokenize([text], { contextLength: model.contextLength, truncate: opts.truncate ?? true });
  return unitRow(model.embedTexts(batch.ids));
}

/** The normalised image embedding of an image file, or of its bytes. */
export async function imageQueryVector(model: ClipModel, image: string | Uint8Array): Promise<Float32Array> {
  const pixels = await preprocessFile(image, model.imageSize);
  return unitRow(model.embedImages(model.imageTensor(pixels, 1)));
}

/** The `k` indexed images closest to a text, best first. */
export async function searchByText(index: ImageIndex, model: ClipModel, text: string, k: number, opts: TextQueryOptions = {}): Promise<SearchHit[]> {
  return index.searchVector(textQueryVector(model, text, opts), k);
}

/** The `k` indexed images closest to an image (a file path or the file's bytes), best first. */
export async function searchByImage(index: ImageIndex, model: ClipModel, image: string | Uint8Array, k: number): Promise<SearchHit[]> {
  return index.searchVector(await imageQueryVector(model, image), k);
}
