// Max and average pooling, forward (with or without the cache a backward needs) and backward.
import { Pool2dCache } from '../caches';
import { fail } from '../errors';
import {
  checkGradient,
  checkOptions,
  checkPoolMode,
  checkTensor,
  dtypeOf,
  OutputOptions,
  Pool2dOptions,
  PoolMode,
  poolOutputAxes,
  poolOutputShape,
  poolParams,
  resolveLayout,
  xAxes,
} from '../shapes';
import { callNative } from '../binding';
import { DType, Tensor, TensorLike } from '../tensor';
import { Plan, runSync } from './run';
import { allocateIndices, checkCachedArray, forwardOutput, output, refuseOut } from './shared';

export interface Pool2dForwardOptions extends Pool2dOptions, OutputOptions {
  mode: PoolMode;
}

export interface Pool2dForwardResult {
  output: Tensor;
  cache: Pool2dCache;
}

function planPool2dForward(
  op: string,
  x: TensorLike,
  options: (Pool2dOptions & OutputOptions) | undefined,
  mode: PoolMode,
  keepCache: boolean,
): Plan<{ output: Tensor; cache: Pool2dCache | null }> {
  const opts = checkOptions(op, options);
  const layout = resolveLayout(op, opts.layout, ['x', x]);
  const input = checkTensor(op, 'x', x, xAxes(layout));
  const dtype = dtypeOf(input.data);
  const params = poolParams(op, layout, input.shape, opts, mode);
  const y = forwardOutput(op, opts.out, poolOutputAxes(layout), poolOutputShape(layout, params), dtype, layout, [['x', input.data]]);
  // Only a max-pool forward that will be differentiated needs the argmax.
  const argmax = keepCache && mode === 'max' ? allocateIndices(op, y.data.length) : null;
  const cache = keepCache ? new Pool2dCache(mode, layout, dtype, input.shape.slice(), y.shape.slice(), argmax, params) : null;
  return { calls: [['pool2dForward', [input.data, y.data, argmax, params]]], result: { output: y, cache } };
}

export function planMaxPool2d(x: TensorLike, options: Pool2dOptions & OutputOptions): Plan<Tensor> {
  const { calls, result } = planPool2dForward('maxPool2d', x, options, 'max', false);
  return { calls, result: result.output };
}

export function planAvgPool2d(x: TensorLike, options: Pool2dOptions & OutputOptions): Plan<Tensor> {
  const { calls, result } = planPool2dForward('avgPool2d', x, options, 'avg', false);
  return { calls, result: result.output };
}

export function planPool2dForwardWithCache(x: TensorLike, options: Pool2dForwardOptions): Plan<Pool2dForwardResult> {
  const op = 'pool2dForward';
  const mode = checkPoolMode(op, checkOptions(op, options).mode);
  return planPool2dForward(op, x, options, mode, true) as Plan<Pool2dForwardResult>;
}

export function planPool2dBackward(dOut: TensorLike, cache: Pool2dCache): Plan<Tensor> {
  const op = 'pool2dBackward';
  if (!(cache instanceof Pool2dCache)) fail('ERR_CACHE', op, 'cache', 'the Pool2dCache of a pool2dForward', cache);
  const { layout, dtype, argmax } = cache;
  const dy = checkGradient(op, dOut, layout, dtype, cache.outputShape, poolOutputAxes(layout), 'the forward input');
  if (argmax) checkCachedArray(op, 'argmax', argmax, dy.data.length);
  const dx = output(op, 'dx', cache.inputShape.slice(), dtype, layout);
  return { calls: [['pool2dBackward', [dy.data, argmax, dx.data, cache.params]]], result: dx };
}

export function maxPool2d(x: TensorLike, options: Pool2dOptions & OutputOptions): Tensor {
  return runSync(planMaxPool2d(x, options));
}

export function avgPool2d(x: TensorLike, options: Pool2dOptions & OutputOptions): Tensor {
  return runSync(planAvgPool2d(x, options));
}

/** A max or avg pool that also returns the cache pool2dBackward needs (for max: the argmax). */
export function pool2dForward(x: TensorLike, options: Pool2dForwardOptions): Pool2dForwardResult {
  return runSync(planPool2dForwardWithCache(x, options));
}

export function pool2dBackward(dOut: TensorLike, cache: Pool2dCache): Tensor {
  return runSync(planPool2dBackward(dOut, cache));
}

/** A pass of a pool, as pool2dPlan names it. */
export type Pool2dPass = 'forward' | 'backward';

/** How the kernels run one pooling pass: the algorithm (a stable snake_case name), its threads and scratch bytes. */
export interface Pool2dPassPlan {
  algorithm: string;
  threads: number;
  workspaceBytes: number;
}

export interface Pool2dPlan extends Record<Pool2dPass, Pool2dPassPlan> {
  isa: string;
  dtype: DType;
}

/**
 * Which algorithm each pass of this pool runs (max_forward_nhwc, avg_backward_nchw, ...) with the
 * current thread count: the choice the ops make, for debugging and benchmarks.
 */
export function pool2dPlan(x: TensorLike, options: Pool2dForwardOptions): Pool2dPlan {
  const op = 'pool2dPlan';
  const opts = checkOptions(op, options);
  const mode = checkPoolMode(op, opts.mode);
  refuseOut(op, opts);
  const layout = resolveLayout(op, opts.layout, ['x', x]);
  const input = checkTensor(op, 'x', x, xAxes(layout));
  const dtype = dtypeOf(input.data);
  const params = poolParams(op, layout, input.shape, opts, mode);
  return callNative((binding) => ({ isa: binding.isa(), dtype, ...binding.pool2dPlan(input.data, params) }));
}
