// `clip-ts datasets`: option errors name the option, and a metadata-only build writes the index
// files of the selected styles without rendering.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError } from '../../src/cli/args.js';
import { run } from '../../src/cli/datasets.js';

describe('clip-ts datasets', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'clip-ts-datasets-cli-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('rejects bad usage', async () => {
    await assert.rejects(run([]), UsageError);
    await assert.rejects(run(['build']), /give the dataset to build \(emoji\)/);
    await assert.rejects(run(['build', 'mnist', out]), /unknown dataset "mnist"/);
    await assert.rejects(run(['build', 'emoji']), /give the output folder OUT/);
    await assert.rejects(run(['build', 'emoji', out, '--styles', 'noto,wingdings']), /unknown style "wingdings" in --styles/);
    await assert.rejects(run(['build', 'emoji', out, '--size', '4']), /--size must be at least 8/);
    await assert.rejects(run(['build', 'emoji', out, '--jobs', '0']), /--jobs must be at least 1/);
  });

  it('--metadata-only writes the index files and no image', async () => {
    const code = await run(['build', 'emoji', out, '--styles', 'fluent-mono', '--classes-limit', '5', '--metadata-only', '--quiet']);
    assert.equal(code, 0);
    const csv = readFileSync(path.join(out, 'labels.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 6);
    assert.match(csv[1], /^images\/fluent-mono\/1f600\.png,"grinning face: /);
    assert.ok(existsSync(path.join(out, 'ATTRIBUTION.txt')));
    assert.ok(!existsSync(path.join(out, 'images', 'fluent-mono')));
  });
});
