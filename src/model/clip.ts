// CLIP: an image tower and a text tower projected into one space, compared by cosine similarity
// scaled by exp(logit_scale).
import {
  Tensor, exp, l2Normalize, matmul, mulScalar, noGrad, transpose, type DType,
} from '../tensor/index.js';
import type { ClipConfig } from './config.js';
import type { ActivationHook, ParamStore } from './params.js';
import { encodeImageResNet } from './resnet.js';
import { encodeTextTower, type EncodeTextOptions } from './text.js';
import { encodeImageVit } from './vit.js';

export interface ClipOutput {
  logitsPerImage: Tensor;
  logitsPerText: Tensor;
}

export class ClipModel {
  readonly config: ClipConfig;
  readonly params: ParamStore;
  /** Batch norm uses batch statistics when true (ResNet towers, training only). */
  training = false;

  constructor(config: ClipConfig, params: ParamStore) {
    this.config = config;
    this.params = params;
  }

  get imageSize(): number {
    return this.config.vision.imageSize;
  }

  get contextLength(): number {
    return this.config.text.contextLength;
  }

  get dtype(): DType {
    return this.params.get('logit_scale').dtype;
  }

  /** Wraps a preprocessed NCHW batch (e.g. from the image loader) as a tensor, checking its size. */
  imageTensor(pixels: Float32Array | Float64Array, batch?: number): Tensor {
    const S = this.imageSize;
    const per = 3 * S * S;
    const n = batch ?? pixels.length / per;
    if (!Number.isInteger(n) || n * per !== pixels.length) {
      throw new RangeError(`images: ${pixels.length} values is not a whole number of [3, ${S}, ${S}] images (this model's input size is ${S})`);
    }
    return new Tensor(pixels, [n, 3, S, S]);
  }

  /** Image features [B, embed] (not normalised), as OpenAI's encode_image. */
  encodeImage(images: Tensor, hook?: ActivationHook): Tensor {
    const S = this.imageSize;
    if (images.rank !== 4 || images.dim(1) !== 3 || images.dim(2) !== S || images.dim(3) !== S) {
      throw new RangeError(`encodeImage: expected [B, 3, ${S}, ${S}] images, got [${images.shape.join(', ')}]`);
    }
    const v = this.config.vision;
    return v.kind === 'vit'
      ? encodeImageVit(this.params, v, this.config.activation, images, hook)
      : encodeImageResNet(this.params, v, images, this.training, hook);
  }

  /** Text features [B, embed] (not normalised) from [B, context] token ids, as OpenAI's encode_text. */
  encodeText(tokens: Int32Array, opts: EncodeTextOptions = {}): Tensor {
    const ctx = this.contextLength;
    if (tokens.length % ctx !== 0) throw new RangeError(`encodeText: ${tokens.length} ids is not a multiple of the context length ${ctx}`);
    return encodeTextTower(this.params, this.config.text, this.config.activation, tokens, tokens.length / ctx, opts);
  }

  /** exp(logit_scale) · normalize(image) · normalize(text)ᵀ, both orientations. */
  similarity(imageFeatures: Tensor, textFeatures: Tensor): ClipOutput {
    const scale = exp(this.params.get('logit_scale'));
    const logitsPerImage = mulScalar(matmul(l2Normalize(imageFeatures), l2Normalize(textFeatures), { transB: true }), scale);
    return { logitsPerImage, logitsPerText: transpose(logitsPerImage) };
  }

  /** The full model: logits between every image and every text. */
  forward(images: Tensor, tokens: Int32Array): ClipOutput {
    return this.similarity(this.encodeImage(images), this.encodeText(tokens));
  }

  /** Inference helpers that never record gradients. */
  embedImages(images: Tensor): Tensor {
    return noGrad(() => this.encodeImage(images));
  }

  embedTexts(tokens: Int32Array): Tensor {
    return noGrad(() => this.encodeText(tokens));
  }
}
