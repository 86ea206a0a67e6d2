// The tensor library: Tensor, autograd, and the ops (each with a hand-written backward).
export { Tensor, zeros, full, fromArray, zerosLike, shapeSize, shapeString, type DType, type Shape } from './tensor.js';
export { backward, noGrad, noGradAsync, isGradEnabled, setGradEnabled, type BackwardOptions } from './autograd.js';
export { recycle, recycleArray, clearBufferPool, pooledBufferBytes } from './buffer-pool.js';
export { native, type NativeBackend, type FloatArray } from './native.js';
export { getMatmulPrecision, setMatmulPrecision, withMatmulPrecision, type MatmulPrecision } from './precision.js';
export { matmul, linear, type MatmulOptions } from './ops/matmul.js';
export { add, mul, scale, mulScalar, exp, quickGelu, gelu, relu } from './ops/elementwise.js';
export { layerNorm, l2Normalize, softmax } from './ops/norm.js';
export { selfAttention, attention } from './ops/attention.js';
export { reshape, transpose, narrow, cat, expand, selectRows, embedding } from './ops/shape.js';
export { conv2d, avgPool2d, meanSpatial, batchNorm, type Conv2dOptions, type BatchNormState } from './ops/conv.js';
export { conv2dBatchNorm, type ConvBatchNormOptions } from './ops/conv.js';
export { sum, mean, crossEntropy } from './ops/reduce.js';
