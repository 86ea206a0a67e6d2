// `clip-ts preprocess --size N IMAGE --out FILE.f32` writes the fixture tensor byte for byte.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { fixturesDir } from '../helpers/fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'clip-ts-cli-preprocess-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI with stderr captured. */
async function cli(argv: string[]): Promise<{ code: number; stderr: string }> {
  const original = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await runCli(argv), stderr };
  } finally {
    process.stderr.write = original;
  }
}

describe('clip-ts preprocess', () => {
  for (const [name, size] of [['rocket_orig.jpg', 224], ['astronaut_alpha_rgba.png', 336]] as const) {
    it(`${name} --size ${size} matches the fixture bytes`, async () => {
      const out = path.join(dir, `${name}.${size}.f32`);
      const r = await cli(['preprocess', '--size', String(size), path.join(fixturesDir(), 'images', name), '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      const digest = (file: string): string => {
        const b = readFileSync(file);
        return createHash('sha256').update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)).digest('hex');
      };
      const expected = path.join(fixturesDir(), 'preprocess', `${name.replace(/\.\w+$/, '')}.${size}.f32`);
      assert.equal(digest(out), digest(expected), 'output bytes differ from the fixture');
    });
  }

  it('a bad image fails with the file name and writes nothing', async () => {
    const out = path.join(dir, 'bad.f32');
    const bad = path.join(fixturesDir(), 'README.md');
    const r = await cli(['preprocess', bad, '--out', out]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`${bad}: not a recognised image`), r.stderr);
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('bad')), []);
  });

  it('usage errors exit with 2', async () => {
    assert.equal((await cli(['preprocess', 'x.png'])).code, 2); // no --out
    assert.equal((await cli(['preprocess', '--size', 'abc', 'x.png', '--out', 'y'])).code, 2);
    assert.equal((await cli(['preprocess', 'a.png', 'b.png', '--out', 'y'])).code, 2);
  });
});
