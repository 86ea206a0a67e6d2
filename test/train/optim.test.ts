// AdamW against a scalar float64 transcription of PyTorch 1.13's update, the schedule's shape,
// gradient clipping and the trainable-parameter filter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createModel } from '../../src/model/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { AdamW } from '../../src/train/adamw.js';
import { clipGradNorm, globalGradNorm } from '../../src/train/grad-norm.js';
import { paramGroups } from '../../src/train/param-groups.js';
import { constantSchedule, cosineSchedule } from '../../src/train/schedule.js';
import { TINY_VIT } from './helpers.js';

describe('AdamW', () => {
  it('follows PyTorch 1.13 step by step (float64), with per-group decay', () => {
    const p1 = new Tensor(Float64Array.from([0.5, -1.25, 2]), [3], true);
    const p2 = new Tensor(Float64Array.from([0.3, -0.7]), [2], true);
    const opt = new AdamW([{ name: 'd', weightDecay: 0.1, params: [['a', p1]] }, { name: 'n', weightDecay: 0, params: [['b', p2]] }]);
    const ref = [{ p: [0.5, -1.25, 2], m: [0, 0, 0], v: [0, 0, 0], wd: 0.1 }, { p: [0.3, -0.7], m: [0, 0], v: [0, 0], wd: 0 }];
    const lr = 0.01;
    for (let t = 1; t <= 4; t++) {
      const grads = [[0.1 * t, -0.2, 0.05 / t], [1e-3, -t]];
      p1.grad = new Tensor(Float64Array.from(grads[0]), [3]);
      p2.grad = new Tensor(Float64Array.from(grads[1]), [2]);
      opt.step(lr);
      ref.forEach((r, k) => {
        for (let i = 0; i < r.p.length; i++) {
          const g = grads[k][i];
          r.p[i] *= 1 - lr * r.wd;
          r.m[i] = 0.9 * r.m[i] + (1 - 0.9) * g;
          r.v[i] = 0.98 * r.v[i] + (1 - 0.98) * g * g;
          const denom = Math.sqrt(r.v[i]) / Math.sqrt(1 - 0.98 ** t) + 1e-6;
          r.p[i] -= (lr / (1 - 0.9 ** t)) * r.m[i] / denom;
        }
      });
      [p1, p2].forEach((p, k) => p.data.forEach((x, i) => assert.ok(Math.abs(x - ref[k].p[i]) < 1e-14, `step ${t}: ${x} vs ${ref[k].p[i]}`)));
    }
    assert.equal(opt.state.get('a')?.step, 4);
  });

  it('skips parameters without a gradient, and zeroGrad clears them', () => {
    const p = new Tensor(Float32Array.from([1, 2]), [2], true);
    const opt = new AdamW([{ name: 'g', weightDecay: 0.2, params: [['p', p]] }]);
    opt.step(0.1);
    assert.deepEqual([...p.data], [1, 2]);
    assert.equal(opt.state.size, 0);
    p.grad = new Tensor(Float32Array.from([1, 1]), [2]);
    opt.zeroGrad();
    assert.equal(p.grad, null);
  });

  it('rejects a parameter listed twice and bad hyper-parameters', () => {
    const p = new Tensor(new Float32Array(1), [1], true);
    assert.throws(() => new AdamW([{ name: 'a', weightDecay: 0, params: [['p', p]] }, { name: 'b', weightDecay: 0, params: [['p', p]] }]), /two groups/);
    assert.throws(() => new AdamW([], { beta2: 1 }), /beta2/);
  });
});

describe('parameter groups', () => {
  it('trains only the parameters the filter selects and marks the rest frozen', () => {
    const model = createModel(TINY_VIT, 0);
    const groups = paramGroups(model.params, { trainable: (n) => !n.startsWith('visual.'), weightDecay: 0.1 });
    const names = groups.flatMap((g) => g.params.map(([n]) => n));
    assert.ok(names.length > 0 && names.every((n) => !n.startsWith('visual.')));
    assert.equal(model.params.get('visual.proj').requiresGrad, false);
    assert.equal(model.params.get('text_projection').requiresGrad, true);
    assert.equal(groups[0].weightDecay, 0.1);
    assert.throws(() => paramGroups(model.params, { trainable: () => false }), /no trainable/);
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, then decays along a cosine to the floor', () => {
    const lr = cosineSchedule({ baseLr: 1e-3, totalSteps: 110, warmupSteps: 10, minLr: 1e-5 });
    assert.ok(Math.abs(lr(0) - 1e-4) < 1e-15);
    assert.ok(Math.abs(lr(4) - 5e-4) < 1e-15);
    assert.ok(Math.abs(lr(10) - 1e-3) < 1e-15);
    assert.ok(Math.abs(lr(60) - (1e-5 + 0.5 * (1e-3 - 1e-5))) < 1e-15);
    assert.ok(Math.abs(lr(110) - 1e-5) < 1e-15);
    assert.ok(Math.abs(lr(500) - 1e-5) < 1e-15);
    for (let s = 11; s < 110; s++) assert.ok(lr(s) < lr(s - 1));
    assert.equal(constantSchedule(5e-4)(1234), 5e-4);
    assert.throws(() => cosineSchedule({ baseLr: 1, totalSteps: 0 }), /total steps/);
  });
});

describe('gradient clipping', () => {
  it('scales gradients down to the limit and reports the norm before', () => {
    const a = new Tensor(Float32Array.from([3, 0]), [2], true);
    const b = new Tensor(Float32Array.from([0, 4]), [2], true);
    a.grad = new Tensor(Float32Array.from([3, 0]), [2]);
    b.grad = new Tensor(Float32Array.from([0, 4]), [2]);
    const params: [string, Tensor][] = [['a', a], ['b', b]];
    assert.equal(globalGradNorm(params), 5);
    assert.equal(clipGradNorm(params, 10), 5);
    assert.equal(globalGradNorm(params), 5);
    assert.equal(clipGradNorm(params, 1), 5);
    assert.ok(Math.abs(globalGradNorm(params) - 1) < 1e-6);
  });
});
