// The training-step fixture (fixtures README section 6): tiny-vit, one batch of 4 pairs, three
// AdamW steps in PyTorch 1.13. Checks the step-1 loss, logits and gradients, the global gradient
// norms, the losses of steps 2 and 3 and after step 3, the parameters after step 3, and the exact
// weight-decay split.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { loadModelFile, type ClipModel } from '../../src/model/index.js';
import { Tensor, noGrad, type FloatArray } from '../../src/tensor/index.js';
import { AdamW } from '../../src/train/adamw.js';
import { clipLoss } from '../../src/train/clip-loss.js';
import { fullBatchBackward } from '../../src/train/grad-cache.js';
import { globalGradNorm } from '../../src/train/grad-norm.js';
import { isNoDecayParam, paramGroups } from '../../src/train/param-groups.js';
import { clampLogitScale } from '../../src/train/train-step.js';
import { compareFixture, describeFailures, fixturesDir, readF32, readJson } from '../helpers/fixtures.js';

interface TrainManifest {
  images: string[];
  tokens: number[][];
  used_token_ids: number[];
  optimizer: { lr: number; betas: [number, number]; eps: number; weight_decay_decay_group: number; no_decay_params: string[]; decay_params: string[] };
  steps: { step: number; loss: number; global_grad_norm: number; logit_scale_before: number; per_param_grad_norm?: Record<string, number> }[];
  loss_after_step3: number;
  files: { grads_step1: Record<string, { file: string; shape: number[] }>; params_after_step3: Record<string, { file: string; shape: number[] }> };
}

const manifest = readJson<TrainManifest>('train_step/manifest.json');

/** The fixture's value for parameter `key`: the whole tensor, or the used rows of the token table. */
function valuesOf(model: ClipModel, key: string, which: 'grad' | 'param'): FloatArray {
  const name = key.startsWith('token_embedding.weight') ? 'token_embedding.weight' : key;
  const t = model.params.get(name);
  const src = which === 'grad' ? t.grad?.data : t.data;
  if (src === undefined) throw new Error(`${name} has no gradient`);
  if (name !== 'token_embedding.weight') return src;
  const D = t.dim(1);
  const out = new Float32Array(manifest.used_token_ids.length * D);
  manifest.used_token_ids.forEach((id, i) => out.set(src.subarray(id * D, (id + 1) * D), i * D));
  return out;
}

/** The fixture index name of a manifest key (`token_embedding.weight[used_ids]` → `.used_rows`). */
function fixtureName(dir: string, key: string): string {
  return `train_step/${dir}/${key === 'token_embedding.weight[used_ids]' ? 'token_embedding.weight.used_rows' : key}`;
}

function relClose(actual: number, expected: number, rtol: number): boolean {
  return Math.abs(actual - expected) <= rtol * Math.abs(expected);
}

describe('train_step fixture (tiny-vit, AdamW, 3 steps)', () => {
  let model: ClipModel;
  let images: Tensor;
  let tokens: Int32Array;
  let optimizer: AdamW;
  const losses: number[] = [];
  const norms: number[] = [];
  let logitsStep1: FloatArray;
  const gradsStep1 = new Map<string, FloatArray>();
  let lossAfter = NaN;

  before(() => {
    model = loadModelFile(path.join(fixturesDir(), 'weights', 'tiny-vit.pt'));
    model.training = true;
    const S = model.imageSize;
    const per = 3 * S * S;
    const pixels = new Float32Array(manifest.images.length * per);
    manifest.images.forEach((name, i) => pixels.set(readF32(`preprocess/${name}.${S}.f32`), i * per));
    images = new Tensor(pixels, [manifest.images.length, 3, S, S]);
    const ctx = model.contextLength;
    tokens = new Int32Array(manifest.tokens.length * ctx);
    manifest.tokens.forEach((row, i) => tokens.set(row, i * ctx));
    optimizer = new AdamW(paramGroups(model.params, { weightDecay: manifest.optimizer.weight_decay_decay_group }), {
      beta1: manifest.optimizer.betas[0], beta2: manifest.optimizer.betas[1], eps: manifest.optimizer.eps,
    });
    for (let step = 1; step <= 3; step++) {
      optimizer.zeroGrad();
      const r = fullBatchBackward(model, { images, tokens });
      losses.push(r.loss);
      norms.push(globalGradNorm(optimizer.parameters()));
      if (step === 1) {
        logitsStep1 = r.logitsPerImage.data.slice();
        for (const key of Object.keys(manifest.files.grads_step1)) gradsStep1.set(key, valuesOf(model, key, 'grad').slice());
      }
      optimizer.step(manifest.optimizer.lr);
      clampLogitScale(model);
    }
    lossAfter = noGrad(() => clipLoss(model.encodeImage(images), model.encodeText(tokens), model.params.get('logit_scale')).loss.item());
  });

  it('splits the parameters into the decay and no-decay groups exactly as the fixture', () => {
    const fresh = loadModelFile(path.join(fixturesDir(), 'weights', 'tiny-vit.pt'));
    const [decay, noDecay] = paramGroups(fresh.params);
    assert.deepEqual(decay.params.map(([n]) => n).sort(), [...manifest.optimizer.decay_params].sort());
    assert.deepEqual(noDecay.params.map(([n]) => n).sort(), [...manifest.optimizer.no_decay_params].sort());
    assert.equal(decay.weightDecay, 0.2);
    assert.equal(noDecay.weightDecay, 0);
    // The rule itself, on OpenAI's 0-dim logit_scale shape too.
    assert.equal(isNoDecayParam('logit_scale', []), true);
    assert.equal(isNoDecayParam('visual.attnpool.positional_embedding', [50, 2048]), true);
    assert.equal(isNoDecayParam('visual.layer1.0.conv1.weight', [64, 64, 1, 1]), false);
  });

  it('step 1: loss and logits', () => {
    assert.ok(relClose(losses[0], manifest.steps[0].loss, 1e-5), `loss ${losses[0]} vs ${manifest.steps[0].loss}`);
    const rep = compareFixture('train_step/logits_per_image_step1', logitsStep1);
    assert.ok(rep.pass, describeFailures(rep));
  });

  it('step 1: every stored gradient', () => {
    for (const key of Object.keys(manifest.files.grads_step1)) {
      const rep = compareFixture(fixtureName('grad_step1', key), gradsStep1.get(key) as FloatArray);
      assert.ok(rep.pass, describeFailures(rep));
    }
  });

  it('step 1: the gradient norm of every parameter', () => {
    const per = manifest.steps[0].per_param_grad_norm ?? {};
    assert.ok(Object.keys(per).length > 0);
    // Recompute step 1's gradients on a fresh copy (the model above has moved on).
    const fresh = loadModelFile(path.join(fixturesDir(), 'weights', 'tiny-vit.pt'));
    fresh.training = true;
    fresh.params.setRequiresGrad(true);
    fullBatchBackward(fresh, { images, tokens });
    for (const [name, expected] of Object.entries(per)) {
      const actual = globalGradNorm([[name, fresh.params.get(name)]]);
      assert.ok(relClose(actual, expected, 1e-3), `${name}: grad norm ${actual} vs ${expected}`);
    }
  });

  it('global gradient norms and losses of steps 1-3, and the loss after step 3', () => {
    manifest.steps.forEach((s, i) => {
      assert.ok(relClose(norms[i], s.global_grad_norm, 1e-4), `step ${s.step}: grad norm ${norms[i]} vs ${s.global_grad_norm}`);
      assert.ok(relClose(losses[i], s.loss, 1e-4), `step ${s.step}: loss ${losses[i]} vs ${s.loss}`);
    });
    assert.ok(relClose(lossAfter, manifest.loss_after_step3, 1e-4), `loss after step 3: ${lossAfter} vs ${manifest.loss_after_step3}`);
  });

  it('every stored parameter after step 3', () => {
    for (const key of Object.keys(manifest.files.params_after_step3)) {
      const rep = compareFixture(fixtureName('params_after_step3', key), valuesOf(model, key, 'param'));
      assert.ok(rep.pass, describeFailures(rep));
    }
  });
});
