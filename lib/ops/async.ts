// The async API: the same ops and plans as the sync one, run off the JS thread; every failure
// is a rejection.
import { Conv2dCache, LinearCache, Pool2dCache } from '../caches';
import { Conv2dOptions, OutputOptions, Pair, Pool2dOptions } from '../shapes';
import { Tensor, TensorLike } from '../tensor';
import {
  Conv2dForwardResult,
  Conv2dGradients,
  Conv2dWeights,
  planConv2d,
  planConv2dBackward,
  planConv2dBackwardFilter,
  planConv2dBackwardInput,
  planConv2dForwardWithCache,
} from './conv';
import { LinearForwardResult, LinearGradients, planLinear, planLinearBackward, planLinearForwardWithCache } from './linear';
import { planZeroPad, ZeroPadOptions } from './pad';
import { planAvgPool2d, planMaxPool2d, planPool2dBackward, planPool2dForwardWithCache, Pool2dForwardOptions, Pool2dForwardResult } from './pool';
import { runAsync } from './run';
import { BackwardOptions, BiasLike, ParameterGradients } from './shared';

export interface AsyncOps {
  zeroPad(x: TensorLike, pad: Pair, options?: ZeroPadOptions): Promise<Tensor>;
  conv2d(x: TensorLike, w: Conv2dWeights, b?: BiasLike, options?: Conv2dOptions & OutputOptions): Promise<Tensor>;
  conv2dForward(x: TensorLike, w: Conv2dWeights, b?: BiasLike, options?: Conv2dOptions & OutputOptions): Promise<Conv2dForwardResult>;
  conv2dBackward(dOut: TensorLike, cache: Conv2dCache, options?: BackwardOptions & { inputGradient?: true }): Promise<Conv2dGradients>;
  conv2dBackward(dOut: TensorLike, cache: Conv2dCache, options?: BackwardOptions): Promise<ParameterGradients>;
  conv2dBackwardInput(dOut: TensorLike, w: TensorLike, xShape: readonly number[], options?: Conv2dOptions): Promise<Tensor>;
  conv2dBackwardFilter(dOut: TensorLike, x: TensorLike, wShape: readonly number[], options?: Conv2dOptions): Promise<Tensor>;
  maxPool2d(x: TensorLike, options: Pool2dOptions & OutputOptions): Promise<Tensor>;
  avgPool2d(x: TensorLike, options: Pool2dOptions & OutputOptions): Promise<Tensor>;
  pool2dForward(x: TensorLike, options: Pool2dForwardOptions): Promise<Pool2dForwardResult>;
  pool2dBackward(dOut: TensorLike, cache: Pool2dCache): Promise<Tensor>;
  linear(x: TensorLike, w: TensorLike, b?: BiasLike): Promise<Tensor>;
  linearForward(x: TensorLike, w: TensorLike, b?: BiasLike): Promise<LinearForwardResult>;
  linearBackward(dOut: TensorLike, cache: LinearCache, options?: BackwardOptions & { inputGradient?: true }): Promise<LinearGradients>;
  linearBackward(dOut: TensorLike, cache: LinearCache, options?: BackwardOptions): Promise<ParameterGradients>;
}

export const asyncOps: AsyncOps = Object.freeze({
  zeroPad: (x, pad, options) => runAsync(() => planZeroPad(x, pad, options)),
  conv2d: (x, w, b, options) => runAsync(() => planConv2d(x, w, b, options)),
  conv2dForward: (x, w, b, options) => runAsync(() => planConv2dForwardWithCache(x, w, b, options)),
  // The overloads differ only in how precisely they type dx.
  conv2dBackward: ((dOut: TensorLike, cache: Conv2dCache, options?: BackwardOptions) =>
    runAsync(() => planConv2dBackward(dOut, cache, options))) as AsyncOps['conv2dBackward'],
  conv2dBackwardInput: (dOut, w, xShape, options) => runAsync(() => planConv2dBackwardInput(dOut, w, xShape, options)),
  conv2dBackwardFilter: (dOut, x, wShape, options) => runAsync(() => planConv2dBackwardFilter(dOut, x, wShape, options)),
  maxPool2d: (x, options) => runAsync(() => planMaxPool2d(x, options)),
  avgPool2d: (x, options) => runAsync(() => planAvgPool2d(x, options)),
  pool2dForward: (x, options) => runAsync(() => planPool2dForwardWithCache(x, options)),
  pool2dBackward: (dOut, cache) => runAsync(() => planPool2dBackward(dOut, cache)),
  linear: (x, w, b) => runAsync(() => planLinear(x, w, b)),
  linearForward: (x, w, b) => runAsync(() => planLinearForwardWithCache(x, w, b)),
  linearBackward: ((dOut: TensorLike, cache: LinearCache, options?: BackwardOptions) =>
    runAsync(() => planLinearBackward(dOut, cache, options))) as AsyncOps['linearBackward'],
} satisfies AsyncOps);
