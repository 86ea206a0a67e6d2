// saveSafetensors → openCheckpoint round trips, atomic replacement, and the header validation of
// the reader (every malformed header named precisely).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { halfBitsToNumber, numberToHalfBits, openCheckpoint, saveSafetensors, toOpenAIStateDict } from '../../src/weights/index.js';
import { dataFile, readBytes, tempDir } from './helpers.js';

/** A safetensors file from a header object and a data buffer, written as-is (no validation). */
function rawSafetensors(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(tempDir(), name);
  writeFileSync(file, bytes);
  return file;
}

describe('saveSafetensors', () => {
  it('round-trips float32 exactly, float16/bfloat16 with round-to-nearest-even, and metadata', () => {
    const dir = tempDir();
    const file = path.join(dir, 'out.safetensors');
    const a = Float32Array.from([0.1, -2.5, 65504, 1e-8, 3.14159, 1 + 2 ** -11]);
    saveSafetensors(file, [
      { name: 'a32', dtype: 'float32', shape: [2, 3], data: a },
      { name: 'a16', dtype: 'float16', shape: [6], data: a },
      { name: 'abf', dtype: 'bfloat16', shape: [3, 2], data: a },
      { name: 'scalar', dtype: 'float32', shape: [], data: Float32Array.from([7]) },
      { name: 'empty', dtype: 'float16', shape: [0, 4], data: new Float32Array(0) },
    ], { format: 'pt', model: 'test' });
    assert.deepEqual(readdirSync(dir), ['out.safetensors']); // no temporary file left behind
    const bytes = readFileSync(file);
    const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    assert.equal(headerLen % 8, 0, 'data must start 8-byte aligned');
    const c = openCheckpoint(file);
    try {
      assert.equal(c.format, 'safetensors');
      assert.deepEqual(c.metadata, { format: 'pt', model: 'test' });
      assert.deepEqual([...c.entries.keys()], ['a32', 'a16', 'abf', 'scalar', 'empty']);
      assert.deepEqual(c.entries.get('a32')?.toFloat32(), a);
      assert.deepEqual(c.entries.get('a32')?.shape, [2, 3]);
      const h = c.entries.get('a16');
      assert.equal(h?.dtype, 'float16');
      assert.deepEqual([...(h?.toFloat32() ?? [])], [...a].map((x) => halfBitsToNumber(numberToHalfBits(x))));
      assert.equal(h?.toFloat32()[5], 1); // the tie 1 + 2^-11 rounds to even
      const bf = c.entries.get('abf')?.toFloat32() ?? new Float32Array(0);
      assert.equal(bf[1], -2.5);
      assert.equal(bf[2], 65536); // 65504 rounds to 2^16 in bf16
      assert.deepEqual(c.entries.get('scalar')?.shape, []);
      assert.equal(c.entries.get('empty')?.numel, 0);
    } finally {
      c.close();
    }
  });

  it('re-saves a mapped checkpoint and reads the same values back', () => {
    const src = openCheckpoint(dataFile('map-vit.hf.safetensors'));
    const file = path.join(tempDir(), 'openai-names.safetensors');
    try {
      const tensors = [...toOpenAIStateDict(src)].map(([name, e]) => ({ name, dtype: 'float32' as const, shape: e.shape, data: e.toFloat32() }));
      saveSafetensors(file, tensors);
      const back = openCheckpoint(file);
      try {
        for (const t of tensors) assert.deepEqual(back.entries.get(t.name)?.toFloat32(), t.data, t.name);
        assert.equal(toOpenAIStateDict(back).size, tensors.length);
      } finally {
        back.close();
      }
    } finally {
      src.close();
    }
  });

  it('replaces an existing file atomically and refuses bad input without touching it', () => {
    const dir = tempDir();
    const file = path.join(dir, 'm.safetensors');
    saveSafetensors(file, [{ name: 'x', dtype: 'float32', shape: [1], data: Float32Array.from([1]) }]);
    const before = readFileSync(file);
    assert.throws(() => saveSafetensors(file, [{ name: 'x', dtype: 'float32', shape: [2, 2], data: new Float32Array(3) }]),
      /tensor x: shape \[2, 2\] has 4 elements, data has 3/);
    assert.throws(() => saveSafetensors(file, [
      { name: 'x', dtype: 'float32', shape: [1], data: new Float32Array(1) },
      { name: 'x', dtype: 'float32', shape: [1], data: new Float32Array(1) },
    ]), /tensor x is given twice/);
    assert.deepEqual(readFileSync(file), before);
    saveSafetensors(file, [{ name: 'y', dtype: 'float16', shape: [1], data: Float32Array.from([2]) }]);
    const c = openCheckpoint(file);
    assert.deepEqual([...c.entries.keys()], ['y']);
    c.close();
    assert.deepEqual(readdirSync(dir), ['m.safetensors']);
  });
});

describe('safetensors header validation', () => {
  const four = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } };

  it('reads a valid hand-made file (unpadded header, I64 and BOOL dtypes)', () => {
    const data = new Uint8Array(16 + 8 + 2);
    data.set(four);
    data.set(new Uint8Array(BigInt64Array.from([-5n]).buffer), 16);
    data.set([1, 0], 24);
    const header = { ...ok, i: { dtype: 'I64', shape: [], data_offsets: [16, 24] }, m: { dtype: 'BOOL', shape: [2], data_offsets: [24, 26] } };
    const c = openCheckpoint(write('ok.safetensors', rawSafetensors(header, data)));
    try {
      assert.deepEqual([...(c.entries.get('b')?.toFloat32() ?? [])], [3, 4]);
      assert.deepEqual([...(c.entries.get('i')?.toFloat32() ?? [])], [-5]);
      assert.deepEqual([...(c.entries.get('m')?.toFloat32() ?? [])], [1, 0]);
    } finally {
      c.close();
    }
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ['overlap', rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, four.subarray(0, 12)),
      /tensors a and b overlap/],
    ['hole', rawSafetensors({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, four),
      /hole in the data buffer: bytes 4\.\.8 belong to no tensor/],
    ['trailing bytes', rawSafetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, four), /data buffer has 16 bytes but the tensors cover 8: trailing bytes/],
    ['size mismatch', rawSafetensors({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, four),
      /tensor a: float32 \[3\] needs 12 bytes, data_offsets \[0, 16\] give 16/],
    ['past the end', rawSafetensors({ a: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, four),
      /tensor a: data_offsets \[0, 32\] run past the data buffer \(16 bytes\): truncated/],
    ['unknown dtype', rawSafetensors({ a: { dtype: 'F8_E4M3', shape: [16], data_offsets: [0, 16] } }, four), /tensor a: unsupported dtype F8_E4M3/],
    ['bad shape', rawSafetensors({ a: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, four), /tensor a: shape must be a list of non-negative integers/],
    ['bad metadata', rawSafetensors({ __metadata__: { n: 3 }, ...ok }, four), /__metadata__\.n is not a string/],
    ['not JSON', rawSafetensors(null, four, '{"a": [1, 2'), /safetensors header is not valid UTF-8 JSON/],
  ];
  for (const [what, bytes, re] of cases) {
    it(`rejects ${what}`, () => {
      const file = write(`${what.replace(/ /g, '_')}.safetensors`, bytes);
      assert.throws(() => openCheckpoint(file), (err: Error) => {
        assert.ok(err.message.startsWith(file + ': '), err.message);
        assert.match(err.message, re);
        return true;
      });
    });
  }

  it('rejects a header length beyond the file (as an unknown format: it cannot be safetensors)', () => {
    const bytes = rawSafetensors(ok, four);
    new DataView(bytes.buffer).setBigUint64(0, 1n << 40n, true);
    assert.throws(() => openCheckpoint(write('huge.safetensors', bytes)), /unrecognised checkpoint format/);
  });

  it('rejects a truncated file', () => {
    const bytes = readBytes(dataFile('map-vit.custom_text.fp16.safetensors'));
    const file = write('cut.safetensors', bytes.subarray(0, bytes.length - 1));
    assert.throws(() => openCheckpoint(file), /truncated/);
  });
});
