// clip-ts convert: a checkpoint written as float16 safetensors loads back with the same config and
// weights rounded to float16, and keeps metadata; bad options are usage errors.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createModel, loadModelFile, saveModel } from '../../src/model/index.js';
import { FileSource } from '../../src/weights/file-source.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { runCliCaptured } from '../helpers/capture-output.js';
import { E2E_CONFIG, tempDir } from '../train/helpers.js';

const dir = tempDir('clip-ts-convert-');

describe('clip-ts convert', () => {
  it('writes float16 safetensors that load back as the same model, rounded', async () => {
    const src = path.join(dir, 'fp32.safetensors');
    const dst = path.join(dir, 'fp16.safetensors');
    const model = createModel({ ...E2E_CONFIG, activation: 'gelu' }, 5);
    saveModel(model, src);
    const r = await runCliCaptured(['convert', src, '--out', dst, '--meta', 'trained_on=emoji']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync(dst).size < 0.6 * statSync(src).size);
    const back = loadModelFile(dst);
    assert.deepEqual(back.config, model.config);
    for (const [name, t] of model.params.entries()) {
      const b = back.params.get(name).data;
      for (let i = 0; i < t.size; i += 97) {
        const want = t.data[i];
        assert.ok(Math.abs(b[i] - want) <= Math.abs(want) * 2 ** -10 + 1e-7, `${name}[${i}]: ${b[i]} vs ${want}`);
      }
    }
    assert.equal(back.params.get('logit_scale').data[0], model.params.get('logit_scale').data[0]);
    const source = new FileSource(dst);
    try {
      assert.equal(readSafetensors(source).metadata.trained_on, 'emoji');
    } finally {
      source.close();
    }
  });

  it('names what is missing or wrong', async () => {
    assert.match((await runCliCaptured(['convert', '--out', 'x'])).stderr, /give the MODEL to convert/);
    assert.match((await runCliCaptured(['convert', 'a.pt'])).stderr, /--out FILE\.safetensors is required/);
    assert.match((await runCliCaptured(['convert', 'a.pt', '--out', 'x', '--dtype', 'int8'])).stderr, /--dtype must be float16 or float32/);
    const missing = await runCliCaptured(['convert', path.join(dir, 'nope.pt'), '--out', path.join(dir, 'x.safetensors')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.pt/);
  });
});
