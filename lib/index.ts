// convkit: 2-D convolution and pooling, forward and backward, on native kernels.
export { ConvkitError } from './errors';
export type { ErrorCode } from './errors';
export { Tensor, tensor } from './tensor';
export type { DType, FloatArray, Layout, NestedArray, TensorLike, TensorOptions } from './tensor';
export { MAX_ELEMENTS } from './shapes';
export { getMemoryLimit, setMemoryLimit } from './alloc';
export type { Conv2dOptions, OutputOptions, Pair, Pool2dOptions, PoolMode } from './shapes';
export { Conv2dCache, LinearCache, Pool2dCache } from './caches';
export { PackedConv2dWeights } from './packed';
export {
  avgPool2d,
  buildInfo,
  conv2d,
  conv2dBackward,
  conv2dBackwardFilter,
  conv2dBackwardInput,
  conv2dForward,
  conv2dPlan,
  getNumThreads,
  isa,
  linear,
  linearBackward,
  linearForward,
  maxPool2d,
  packConv2dWeights,
  pool2dBackward,
  pool2dForward,
  pool2dPlan,
  setNumThreads,
  supportedIsas,
  zeroPad,
} from './ops';
export type {
  AsyncOps,
  BackwardOptions,
  BiasLike,
  Conv2dForwardResult,
  Conv2dGradients,
  Conv2dPass,
  Conv2dPassPlan,
  Conv2dPlan,
  Conv2dWeights,
  LinearForwardResult,
  LinearGradients,
  PackConv2dOptions,
  ParameterGradients,
  Pool2dForwardOptions,
  Pool2dForwardResult,
  Pool2dPass,
  Pool2dPassPlan,
  Pool2dPlan,
  ZeroPadOptions,
} from './ops';
export { asyncOps as async } from './ops';
export * as nn from './nn';
export * as optim from './optim';
