// fp16/bf16 conversions: exact decoding, and round-to-nearest-even encoding at the edges.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeToFloat32, encodeBFloat16, encodeFloat16, halfBitsToNumber, numberToBFloat16Bits, numberToHalfBits,
} from '../../src/weights/dtype.js';

describe('fp16 decoding', () => {
  it('decodes every one of the 65,536 bit patterns exactly (native and table paths equal the formula)', () => {
    const bits = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) bits[i] = i;
    const bytes = new Uint8Array(bits.buffer);
    // All at once (the native core) and 1,000 at a time (the table), into an offset destination.
    const whole = new Float32Array(65536 + 3);
    decodeToFloat32('float16', bytes, whole, 3, 65536);
    const pieces = new Float32Array(65536);
    for (let i = 0; i < 65536; i += 1000) decodeToFloat32('float16', bytes.subarray(2 * i), pieces, i, Math.min(1000, 65536 - i));
    for (const [name, out] of [['native', whole.subarray(3)], ['table', pieces]] as const) {
      for (let h = 0; h < 65536; h++) {
        const want = halfBitsToNumber(h);
        if (Number.isNaN(want)) assert.ok(Number.isNaN(out[h]), `${name}: 0x${h.toString(16)} should be NaN`);
        else assert.ok(Object.is(out[h], want), `${name}: 0x${h.toString(16)}: ${out[h]} vs ${want}`);
      }
    }
  });

  it('knows the landmark values', () => {
    assert.equal(halfBitsToNumber(0x3c00), 1);
    assert.equal(halfBitsToNumber(0xc000), -2);
    assert.equal(halfBitsToNumber(0x7bff), 65504);
    assert.equal(halfBitsToNumber(0x0001), 2 ** -24);
    assert.equal(halfBitsToNumber(0x0400), 2 ** -14);
    assert.equal(halfBitsToNumber(0x7c00), Infinity);
    assert.equal(halfBitsToNumber(0xfc00), -Infinity);
    assert.ok(Object.is(halfBitsToNumber(0x8000), -0));
    assert.ok(Number.isNaN(halfBitsToNumber(0x7e00)));
  });
});

describe('fp16 encoding (round to nearest, ties to even)', () => {
  it('round-trips every finite half value', () => {
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      assert.equal(numberToHalfBits(halfBitsToNumber(h)), h, `0x${h.toString(16)}`);
    }
  });

  it('rounds halfway cases to even and overflows to infinity', () => {
    assert.equal(numberToHalfBits(1 + 2 ** -11), 0x3c00); // tie, even stays
    assert.equal(numberToHalfBits(1 + 3 * 2 ** -11), 0x3c02); // tie, odd rounds up
    assert.equal(numberToHalfBits(1 + 2 ** -11 + 2 ** -20), 0x3c01); // above the tie
    assert.equal(numberToHalfBits(65519), 0x7bff); // below the rounding boundary of the largest half
    assert.equal(numberToHalfBits(65520), 0x7c00); // at it: infinity
    assert.equal(numberToHalfBits(1e6), 0x7c00);
    assert.equal(numberToHalfBits(-1e6), 0xfc00);
    assert.equal(numberToHalfBits(2 ** -25), 0x0000); // tie between 0 and the smallest subnormal
    assert.equal(numberToHalfBits(3 * 2 ** -25), 0x0002); // tie between 1 and 2 subnormal steps
    assert.equal(numberToHalfBits(2 ** -25 + 2 ** -35), 0x0001);
    assert.equal(numberToHalfBits(2 ** -14 - 2 ** -26), 0x0400); // rounds up into the normals
    assert.equal(numberToHalfBits(-0), 0x8000);
    assert.equal(numberToHalfBits(NaN) & 0x7e00, 0x7e00);
    assert.equal(numberToHalfBits(Infinity), 0x7c00);
  });

  it('agrees with a brute-force nearest search on random floats', () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const src = new Float32Array(2000);
    for (let i = 0; i < src.length; i++) src[i] = (rand() - 0.5) * 2 ** Math.floor(rand() * 40 - 26);
    const out = new Uint8Array(src.length * 2);
    encodeFloat16(src, out);
    const got = new Uint16Array(out.buffer);
    for (let i = 0; i < src.length; i++) {
      const x = src[i];
      const h = got[i];
      const v = halfBitsToNumber(h);
      // No other half is closer; on a tie the chosen one is even.
      const up = halfBitsToNumber(h + 1);
      const down = halfBitsToNumber(h === 0 || h === 0x8000 ? h : h - 1);
      for (const other of [up, down]) {
        if (!Number.isFinite(other)) continue;
        const d0 = Math.abs(v - x);
        const d1 = Math.abs(other - x);
        assert.ok(d0 < d1 || (d0 === d1 && (h & 1) === 0), `x=${x}: got ${v}, ${other} is closer`);
      }
    }
  });
});

describe('bf16', () => {
  it('decodes as the top half of a float32', () => {
    const bits = Uint16Array.from([0x3f80, 0xc040, 0x7f80, 0x0001]);
    const out = new Float32Array(4);
    decodeToFloat32('bfloat16', new Uint8Array(bits.buffer), out, 0, 4);
    assert.deepEqual([...out], [1, -3, Infinity, 2 ** -133]);
  });

  it('encodes with ties to even', () => {
    assert.equal(numberToBFloat16Bits(1), 0x3f80);
    assert.equal(numberToBFloat16Bits(1 + 2 ** -8), 0x3f80); // tie, even
    assert.equal(numberToBFloat16Bits(1 + 3 * 2 ** -8), 0x3f82); // tie, odd → up
    assert.equal(numberToBFloat16Bits(1 + 2 ** -8 + 2 ** -20), 0x3f81);
    assert.equal(numberToBFloat16Bits(3.4e38), 0x7f80); // rounds past the largest bf16
    assert.equal(numberToBFloat16Bits(NaN) & 0x7fc0, 0x7fc0);
    const out = new Uint8Array(4);
    encodeBFloat16(Float32Array.from([1, -2]), out);
    assert.deepEqual([...new Uint16Array(out.buffer)], [0x3f80, 0xc000]);
  });
});

describe('other types', () => {
  it('decodes int64, int32, uint8, bool and float64', () => {
    const out = new Float32Array(2);
    decodeToFloat32('int64', new Uint8Array(BigInt64Array.from([224n, -3n]).buffer), out, 0, 2);
    assert.deepEqual([...out], [224, -3]);
    decodeToFloat32('int32', new Uint8Array(Int32Array.from([-7, 9]).buffer), out, 0, 2);
    assert.deepEqual([...out], [-7, 9]);
    decodeToFloat32('uint8', Uint8Array.from([255, 1]), out, 0, 2);
    assert.deepEqual([...out], [255, 1]);
    decodeToFloat32('bool', Uint8Array.from([1, 0]), out, 0, 2);
    assert.deepEqual([...out], [1, 0]);
    decodeToFloat32('float64', new Uint8Array(Float64Array.from([0.5, -1e300]).buffer), out, 0, 2);
    assert.deepEqual([...out], [0.5, -Infinity]);
  });
});
