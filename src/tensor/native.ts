// Loads the native compute core (native/*.cc, built by node-gyp during `npm ci`) and types its
// interface. native/API.md documents each function; keep the two in step.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../paths.js';

export type FloatArray = Float32Array | Float64Array;

/** The kernels a compute backend provides. Arrays are caller-allocated, dense, row-major. */
export interface NativeBackend {
  setThreads(n: number): void;
  getThreads(): number;

  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: FloatArray, lda: number, B: FloatArray, ldb: number, beta: number, C: FloatArray, ldc: number): void;
  gemmBatched(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: FloatArray, strideA: number, lda: number, B: FloatArray, strideB: number, ldb: number,
    beta: number, C: FloatArray, strideC: number, ldc: number, batch: number): void;
  toBf16(src: Float32Array, dst: Uint16Array): void;
  fromBf16(src: Uint16Array, dst: Float32Array): void;
  /** IEEE half bits → float32 (exact). */
  fromFloat16(src: Uint16Array, dst: Float32Array): void;
  gemmBf16(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, lda: number, B: Uint16Array, ldb: number, beta: number, C: Float32Array, ldc: number): void;
  hasBf16(): boolean;
  /** The float32 GEMM in use ('avx512': clip-ts's packed kernel, 'blas': CBLAS); `which` switches it. */
  gemmKernel(which?: 'auto' | 'blas'): 'avx512' | 'blas';
  /** Measured fp32 FMA peak of the thread pool over about `seconds`, in GFLOP/s (benchmarks). */
  fmaPeak(seconds: number): number;

  add(a: FloatArray, b: FloatArray, out: FloatArray): void;
  axpby(alpha: number, x: FloatArray, beta: number, y: FloatArray): void;
  scale(x: FloatArray, s: number, out: FloatArray): void;
  mul(a: FloatArray, b: FloatArray, out: FloatArray): void;
  addBias(x: FloatArray, bias: FloatArray, rows: number, n: number): void;
  sumRows(x: FloatArray, rows: number, n: number, out: FloatArray, accumulate: boolean): void;
  sumCols(x: FloatArray, rows: number, n: number, out: FloatArray, accumulate: boolean): void;
  sumAll(x: FloatArray): number;
  quickGelu(x: FloatArray, out: FloatArray): void;
  quickGeluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray): void;
  gelu(x: FloatArray, out: FloatArray): void;
  geluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray): void;
  relu(x: FloatArray, out: FloatArray): void;
  reluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray): void;
  embedding(weight: FloatArray, ids: Int32Array, V: number, D: number, out: FloatArray): void;
  embeddingBackward(dy: FloatArray, ids: Int32Array, V: number, D: number, dweight: FloatArray): void;
  transpose(x: FloatArray, batch: number, rows: number, cols: number, out: FloatArray): void;

  layerNorm(x: FloatArray, gamma: FloatArray, beta: FloatArray, rows: number, n: number, eps: number,
    out: FloatArray, mean: FloatArray, rstd: FloatArray): void;
  layerNormBackward(x: FloatArray, gamma: FloatArray, mean: FloatArray, rstd: FloatArray, dy: FloatArray,
    rows: number, n: number, dx: FloatArray, dgamma: FloatArray, dbeta: FloatArray): void;
  l2Normalize(x: FloatArray, rows: number, n: number, out: FloatArray, norms: FloatArray): void;
  l2NormalizeBackward(out: FloatArray, norms: FloatArray, dy: FloatArray, rows: number, n: number, dx: FloatArray): void;
  softmax(x: FloatArray, rows: number, n: number, out: FloatArray): void;
  softmaxBackward(y: FloatArray, dy: FloatArray, rows: number, n: number, dx: FloatArray): void;
  logSoftmax(x: FloatArray, rows: number, n: number, out: FloatArray): void;

  attention(q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, probs: FloatArray | null,
    B: number, H: number, Tq: number, Tk: number, D: number,
    qs: number, ks: number, vs: number, os: number, scale: number, causal: boolean): void;
  attentionBackward(q: FloatArray, k: FloatArray, v: FloatArray, probs: FloatArray, dout: FloatArray,
    dq: FloatArray, dk: FloatArray, dv: FloatArray, B: number, H: number, Tq: number, Tk: number, D: number,
    qs: number, ks: number, vs: number, os: number, scale: number): void;

  crossEntropy(logits: FloatArray, targets: Int32Array, rows: number, n: number, probs: FloatArray): number;
  crossEntropyBackward(probs: FloatArray, targets: Int32Array, rows: number, n: number, scale: number, dlogits: FloatArray): void;

  adamw(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, lr: number, beta1: number,
    beta2: number, eps: number, weightDecay: number, step: number): void;
  sumSquares(x: FloatArray): number;

  conv2d(x: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, N: number, C: number,
    H: number, W: number, O: number, kh: number, kw: number, stride: number, pad: number): void;
  /** Inference fusion: out = relu?((conv(x, w) + bias − runMean)·gamma/√(runVar + eps) + beta + residual?). */
  conv2dBatchNorm(x: FloatArray, w: FloatArray, bias: FloatArray | null, gamma: FloatArray, beta: FloatArray,
    runMean: FloatArray, runVar: FloatArray, residual: FloatArray | null, out: FloatArray, N: number, C: number,
    H: number, W: number, O: number, kh: number, kw: number, stride: number, pad: number, eps: number, relu: boolean): void;
  conv2dBackward(x: FloatArray, w: FloatArray, dy: FloatArray, dx: FloatArray | null, dw: FloatArray | null,
    db: FloatArray | null, N: number, C: number, H: number, W: number, O: number, kh: number, kw: number,
    stride: number, pad: number): void;
  avgPool2d(x: FloatArray, out: FloatArray, N: number, C: number, H: number, W: number, k: number, stride: number): void;
  avgPool2dBackward(dy: FloatArray, dx: FloatArray, N: number, C: number, H: number, W: number, k: number, stride: number): void;
  meanSpatial(x: FloatArray, N: number, C: number, HW: number, out: FloatArray): void;

  batchNorm(x: FloatArray, gamma: FloatArray, beta: FloatArray, runMean: FloatArray, runVar: FloatArray,
    out: FloatArray, saveMean: FloatArray | null, saveRstd: FloatArray | null, N: number, C: number, HW: number,
    training: boolean, momentum: number, eps: number): void;
  batchNormBackward(x: FloatArray, gamma: FloatArray, saveMean: FloatArray, saveRstd: FloatArray, dy: FloatArray,
    dx: FloatArray, dgamma: FloatArray, dbeta: FloatArray, N: number, C: number, HW: number, training: boolean): void;

  // JPEG with libjpeg-turbo (jpeg.cc); absent from a build without libjpeg. Data errors carry a
  // `code`: ERR_JPEG_CORRUPT, ERR_JPEG_TRUNCATED, ERR_JPEG_TOO_LARGE, ERR_JPEG_UNSUPPORTED.
  jpegHeader?(bytes: Uint8Array): JpegHeader;
  /** Pillow's decode: interleaved RGB (or gray) rows; `maxPixels` (optional) refuses bigger images before allocating. */
  jpegDecode?(bytes: Uint8Array, outColor: 'rgb' | 'gray', maxPixels?: number): Uint8Array;
  /** The same on libuv's thread pool; `bytes` must not change until the promise settles. */
  jpegDecodeAsync?(bytes: Uint8Array, outColor: 'rgb' | 'gray', maxPixels?: number): Promise<Uint8Array>;
}

/** A JPEG's frame header as libjpeg reads it (no pixels are decoded). */
export interface JpegHeader {
  width: number;
  height: number;
  /** 1 (gray), 3 (YCbCr or RGB) or 4 (CMYK or YCCK). */
  components: number;
  colorSpace: 'gray' | 'rgb' | 'ycbcr' | 'cmyk' | 'ycck' | 'unknown';
  progressive: boolean;
}

const ADDON = 'build/Release/clip_ts_native.node';

function load(): NativeBackend {
  const file = path.join(packageRoot(), ADDON);
  if (!existsSync(file)) {
    throw new Error(
      `clip-ts: the native compute core is not built (${file} is missing).\n` +
      'Install the system packages and rebuild:\n' +
      '    sudo apt-get install -y build-essential python3 libopenblas-dev pkg-config\n' +
      '    npm rebuild clip-ts   (or, in a checkout: npm run build:native)');
  }
  const require = createRequire(import.meta.url);
  try {
    return require(file) as NativeBackend;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(
      `clip-ts: cannot load the native compute core ${file}: ${msg}\n` +
      (/openblas|libblas|cblas/i.test(msg)
        ? 'OpenBLAS is missing at run time: sudo apt-get install -y libopenblas0 (or libopenblas-dev)\n'
        : '') +
      'Rebuild it with: npm run build:native');
  }
}

let backend: NativeBackend | undefined;

/** The native backend, loaded on first use. */
export function native(): NativeBackend {
  backend ??= load();
  return backend;
}
