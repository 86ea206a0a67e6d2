// Model configurations of the training tests (no test-runner imports: the resume child uses them).
import type { ClipConfig } from '../../src/model/index.js';

/** A ViT CLIP small enough for tests that train: 32 px images, 2+2 layers of width 32. */
export const TINY_VIT: ClipConfig = {
  embedDim: 24,
  vision: { kind: 'vit', imageSize: 32, patchSize: 8, width: 32, layers: 2, heads: 2 },
  text: { contextLength: 16, vocabSize: 300, width: 32, layers: 2, heads: 2 },
  activation: 'quickGelu',
};

/** A ResNet CLIP of the same size class (one bottleneck per stage, width 8). */
export const TINY_RN: ClipConfig = {
  embedDim: 24,
  vision: { kind: 'resnet', imageSize: 32, layers: [1, 1, 1, 1], width: 8, heads: 4 },
  text: { contextLength: 16, vocabSize: 300, width: 32, layers: 1, heads: 2 },
  activation: 'quickGelu',
};

/**
 * The config of the end-to-end tests: a 2+2-layer ViT of width 64 on 32 px images, real vocabulary.
 * Heads follow OpenAI's width / 64 rule, which is what a saved model's shapes are read back with.
 */
export const E2E_CONFIG: ClipConfig = {
  embedDim: 64,
  vision: { kind: 'vit', imageSize: 32, patchSize: 8, width: 64, layers: 2, heads: 1 },
  text: { contextLength: 77, vocabSize: 49408, width: 64, layers: 2, heads: 1 },
  activation: 'quickGelu',
};
