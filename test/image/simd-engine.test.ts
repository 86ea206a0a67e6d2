// The WebAssembly SIMD passes must equal the TypeScript passes bit for bit (both are checked against
// Pillow by the fixture and golden tests, which run whichever engine is active; this test pins the
// other one). Random sizes, channels, windows and pixel data, including hard 0/255 edges that make
// the bicubic overshoot and exercise the clamping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bicubicResample8 } from '../../src/image/resample-bicubic.js';
import { simdKernels } from '../../src/image/resample-simd.js';
import { SeededRandom } from '../../src/image/index.js';

describe('bicubic engines: SIMD == TypeScript', () => {
  it('on 400 random resamples', (t) => {
    if (simdKernels() === null) {
      t.skip('WebAssembly SIMD unavailable in this runtime');
      return;
    }
    const rng = new SeededRandom(2024);
    for (let trial = 0; trial < 400; trial++) {
      const c = rng.int(1, 5);
      const w = rng.int(1, 90);
      const h = rng.int(1, 90);
      const outW = rng.int(1, trial % 3 === 0 ? 300 : 60);
      const outH = rng.int(1, trial % 5 === 0 ? 300 : 60);
      const data = new Uint8Array(w * h * c);
      const edges = trial % 2 === 0;
      for (let i = 0; i < data.length; i++) data[i] = edges ? (rng.next() < 0.5 ? 0 : 255) : rng.int(0, 256);
      const winW = rng.int(1, outW + 1);
      const winH = rng.int(1, outH + 1);
      const window = { left: rng.int(0, outW - winW + 1), top: rng.int(0, outH - winH + 1), width: winW, height: winH };
      const plane = { data, offset: 0, rowStride: w * c, channels: c };
      const a = bicubicResample8(plane, w, h, outW, outH, window, 'simd');
      const b = bicubicResample8(plane, w, h, outW, outH, window, 'typescript');
      assert.deepEqual(a, b, `trial ${trial}: ${w}x${h}x${c} -> ${outW}x${outH}, window ${JSON.stringify(window)}`);
    }
  });

  it('on a region with an offset and row stride (a crop inside a bigger image)', (t) => {
    if (simdKernels() === null) {
      t.skip('WebAssembly SIMD unavailable in this runtime');
      return;
    }
    const rng = new SeededRandom(7);
    const [W, H, c] = [120, 80, 3];
    const data = Uint8Array.from({ length: W * H * c }, () => rng.int(0, 256));
    const plane = { data, offset: (11 * W + 17) * c, rowStride: W * c, channels: c };
    const window = { left: 3, top: 5, width: 40, height: 30 };
    assert.deepEqual(bicubicResample8(plane, 90, 60, 47, 41, window, 'simd'), bicubicResample8(plane, 90, 60, 47, 41, window, 'typescript'));
  });
});
