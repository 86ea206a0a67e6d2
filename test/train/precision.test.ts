// bf16 mixed-precision training: the linear layers' forward and backward products run in bfloat16
// (the gradients differ from float32 by rounding, not more), while weights and gradients stay
// float32 and training still lowers the loss.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createModel } from '../../src/model/index.js';
import { Tensor, backward, linear, mul, sum, withMatmulPrecision } from '../../src/tensor/index.js';
import { AdamW } from '../../src/train/adamw.js';
import { fullBatchBackward } from '../../src/train/grad-cache.js';
import { paramGroups } from '../../src/train/param-groups.js';
import { trainStep } from '../../src/train/train-step.js';
import { E2E_CONFIG, gradients, randomImages, randomTokens, relL2 } from './helpers.js';

function randomTensor(shape: number[], seed: number): Tensor {
  let s = seed;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; data[i] = (s / 2 ** 32) * 2 - 1; }
  return new Tensor(data, shape, true);
}

describe('bf16 mixed-precision training', () => {
  it('linear: forward, input and weight gradients within bf16 rounding of float32', () => {
    const run = (p: 'fp32' | 'bf16') => withMatmulPrecision(p, () => {
      const x = randomTensor([37, 96], 1);
      const w = randomTensor([64, 96], 2);
      const y = linear(x, w);
      backward(sum(mul(y, y)));
      return { y: y.data.slice(), gx: (x.grad as Tensor).data.slice(), gw: (w.grad as Tensor).data.slice(), w: w.data };
    });
    const a = run('fp32');
    const b = run('bf16');
    for (const k of ['y', 'gx', 'gw'] as const) {
      const e = relL2(b[k], a[k]);
      assert.ok(e > 0, `${k}: the bf16 path was not taken`);
      assert.ok(e < 1e-2, `${k}: relative L2 ${e}`);
    }
    assert.ok(b.w instanceof Float32Array);
  });

  it('a model\'s gradients match float32 to bf16 rounding, and steps lower the loss', () => {
    const batch = { images: randomImages(16, 32, 3), tokens: randomTokens(16, 77, 49408, 4) };
    const grads = (p: 'fp32' | 'bf16') => {
      const model = createModel(E2E_CONFIG, 7);
      model.params.setRequiresGrad(true);
      const loss = withMatmulPrecision(p, () => fullBatchBackward(model, batch).loss);
      return { loss, g: gradients(model.params.parameters()) };
    };
    const a = grads('fp32');
    const b = grads('bf16');
    assert.ok(Math.abs(a.loss - b.loss) < 1e-2 * a.loss, `loss ${b.loss} vs ${a.loss}`);
    for (const [name, g] of a.g) {
      if (g.length < 1000) continue;
      const e = relL2(b.g.get(name) as Float32Array, g);
      assert.ok(e < 0.05, `${name}: relative L2 ${e}`);
    }
    const model = createModel(E2E_CONFIG, 7);
    model.params.setRequiresGrad(true);
    const opt = new AdamW(paramGroups(model.params), {});
    const losses = withMatmulPrecision('bf16', () => Array.from({ length: 6 }, () => trainStep(model, opt, batch, { lr: 1e-3 }).loss));
    assert.ok(losses[5] < losses[0], `losses ${losses.join(', ')}`);
    for (const [, t] of model.params.parameters()) assert.ok(t.data instanceof Float32Array);
  });
});
