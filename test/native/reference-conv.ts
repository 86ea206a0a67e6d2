// Plain-TypeScript references for the convolution, pooling and batch-norm kernels: direct loops
// straight from the definitions, in float64, with no attempt at speed. The native kernels are
// compared against these (forward) and against finite differences of themselves (backward).

export type Floats = Float32Array | Float64Array | number[];

/** out[n, o, oh, ow] = bias[o] + Σ_{c, ki, kj} w[o, c, ki, kj] · x[n, c, oh·s − pad + ki, ow·s − pad + kj]. */
export function conv2dRef(x: Floats, w: Floats, bias: Floats | null, N: number, C: number, H: number, W: number,
  O: number, kh: number, kw: number, stride: number, pad: number): Float64Array {
  const Ho = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - kw) / stride) + 1;
  const out = new Float64Array(N * O * Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          let acc = bias === null ? 0 : bias[o];
          for (let c = 0; c < C; c++) {
            for (let ki = 0; ki < kh; ki++) {
              const ih = oh * stride - pad + ki;
              if (ih < 0 || ih >= H) continue;
              for (let kj = 0; kj < kw; kj++) {
                const iw = ow * stride - pad + kj;
                if (iw < 0 || iw >= W) continue;
                acc += w[((o * C + c) * kh + ki) * kw + kj] * x[((n * C + c) * H + ih) * W + iw];
              }
            }
          }
          out[((n * O + o) * Ho + oh) * Wo + ow] = acc;
        }
      }
    }
  }
  return out;
}

/** Average of each k×k window at stride s, no padding. */
export function avgPool2dRef(x: Floats, N: number, C: number, H: number, W: number, k: number, stride: number): Float64Array {
  const Ho = Math.floor((H - k) / stride) + 1;
  const Wo = Math.floor((W - k) / stride) + 1;
  const out = new Float64Array(N * C * Ho * Wo);
  for (let p = 0; p < N * C; p++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        let acc = 0;
        for (let ki = 0; ki < k; ki++) {
          for (let kj = 0; kj < k; kj++) acc += x[(p * H + oh * stride + ki) * W + ow * stride + kj];
        }
        out[(p * Ho + oh) * Wo + ow] = acc / (k * k);
      }
    }
  }
  return out;
}

/** out[n, c] = mean over the HW values of x[n, c, :]. */
export function meanSpatialRef(x: Floats, N: number, C: number, HW: number): Float64Array {
  const out = new Float64Array(N * C);
  for (let r = 0; r < N * C; r++) {
    let acc = 0;
    for (let i = 0; i < HW; i++) acc += x[r * HW + i];
    out[r] = acc / HW;
  }
  return out;
}

export interface BatchNormRefResult {
  out: Float64Array;
  mean: Float64Array;
  /** 1 / sqrt(var + eps), var the biased batch variance (training) or the running variance. */
  rstd: Float64Array;
  runMean: Float64Array;
  runVar: Float64Array;
}

/** Batch norm over (N, HW) per channel, PyTorch semantics (see native/API.md). */
export function batchNormRef(x: Floats, gamma: Floats, beta: Floats, runMean: Floats, runVar: Floats,
  N: number, C: number, HW: number, training: boolean, momentum: number, eps: number): BatchNormRefResult {
  const M = N * HW;
  const mean = new Float64Array(C);
  const rstd = new Float64Array(C);
  const newMean = Float64Array.from(runMean);
  const newVar = Float64Array.from(runVar);
  for (let c = 0; c < C; c++) {
    if (training) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) s += x[(n * C + c) * HW + i];
      const mu = s / M;
      let ss = 0;
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < HW; i++) {
          const d = x[(n * C + c) * HW + i] - mu;
          ss += d * d;
        }
      }
      const v = ss / M;
      mean[c] = mu;
      rstd[c] = 1 / Math.sqrt(v + eps);
      newMean[c] = (1 - momentum) * runMean[c] + momentum * mu;
      newVar[c] = (1 - momentum) * runVar[c] + momentum * (ss / (M - 1));
    } else {
      mean[c] = runMean[c];
      rstd[c] = 1 / Math.sqrt(runVar[c] + eps);
    }
  }
  const out = new Float64Array(N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < HW; i++) {
        const j = (n * C + c) * HW + i;
        out[j] = (x[j] - mean[c]) * rstd[c] * gamma[c] + beta[c];
      }
    }
  }
  return { out, mean, rstd, runMean: newMean, runVar: newVar };
}
