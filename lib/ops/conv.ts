// Convolution: forward (with weights packed ahead or not), weight packing, and the backward
// passes (both gradients from a forward cache, or each alone from shapes).
import { callNative } from '../binding';
import { Conv2dCache } from '../caches';
import { fail } from '../errors';
import { CONV_PARAM } from '../generated/boundary';
import { PackedConv2dWeights } from '../packed';
import {
  checkGradient,
  checkOptions,
  checkSameDType,
  checkShapeArg,
  checkTensor,
  Conv2dOptions,
  convOutputAxes,
  convOutputShape,
  convParams,
  dtypeOf,
  OutputOptions,
  resolveLayout,
  wAxes,
  xAxes,
} from '../shapes';
import { DType, FloatArray, Layout, Tensor, TensorLike } from '../tensor';
import { KernelCall, Plan, runSync } from './run';
import {
  allocate,
  BackwardOptions,
  BiasLike,
  checkBias,
  checkCachedArray,
  CONV_BIAS,
  forwardOutput,
  output,
  ParameterGradients,
  refuseOut,
  wantsInputGradient,
} from './shared';

export interface Conv2dForwardResult {
  output: Tensor;
  cache: Conv2dCache;
}

export interface Conv2dGradients {
  dx: Tensor;
  dw: Tensor;
  db: Tensor | null;
}

/** The weights argument of a convolution forward: a tensor, or weights packed ahead. */
export type Conv2dWeights = TensorLike | PackedConv2dWeights;

/** What the packing of convolution weights depends on; stride, padding and dilation do not matter. */
export interface PackConv2dOptions {
  layout?: Layout;
  groups?: number;
}

function planConv2dForward(
  op: string,
  x: TensorLike,
  w: Conv2dWeights,
  b: BiasLike | undefined,
  options: (Conv2dOptions & OutputOptions) | undefined,
  keepCache: boolean,
): Plan<{ output: Tensor; cache: Conv2dCache | null }> {
  const opts = checkOptions(op, options);
  const prepacked = w instanceof PackedConv2dWeights ? w : null;
  const layout = resolveLayout(op, opts.layout, ['x', x], ...(prepacked ? [['w', prepacked] as [string, unknown]] : []));
  const input = checkTensor(op, 'x', x, xAxes(layout));
  const dtype = dtypeOf(input.data);
  let packed: FloatArray | null = null;
  let weights: TensorLike;
  if (prepacked) {
    ({ weights, packed } = prepacked.parts(op));
    const groups = opts.groups ?? 1;
    if (groups !== prepacked.groups) fail('ERR_ARG', op, 'options.groups', `${prepacked.groups}, the groups w was packed for`, groups);
  } else {
    weights = checkTensor(op, 'w', w, wAxes(layout));
  }
  checkSameDType(op, 'w', weights.data, dtype, 'x');
  const params = convParams(op, layout, input.shape, weights.shape, opts);
  const bias = checkBias(op, b, params[CONV_PARAM.cout], dtype, CONV_BIAS);
  const y = forwardOutput(op, opts.out, convOutputAxes(layout), convOutputShape(layout, params), dtype, layout, [
    ['x', input.data],
    ['w', weights.data],
    ['b', bias && bias.data],
  ]);
  const cache = keepCache
    ? new Conv2dCache(
        new Tensor(input.data, input.shape.slice(), layout),
        new Tensor(weights.data, weights.shape.slice(), layout),
        bias && bias.shape,
        y.shape.slice(),
        params,
      )
    : null;
  return { calls: [['conv2dForward', [input.data, weights.data, bias && bias.data, y.data, params, packed]]], result: { output: y, cache } };
}

export function planConv2d(x: TensorLike, w: Conv2dWeights, b?: BiasLike, options?: Conv2dOptions & OutputOptions): Plan<Tensor> {
  const { calls, result } = planConv2dForward('conv2d', x, w, b, options, false);
  return { calls, result: result.output };
}

export function planConv2dForwardWithCache(x: TensorLike, w: Conv2dWeights, b?: BiasLike, options?: Conv2dOptions & OutputOptions): Plan<Conv2dForwardResult> {
  return planConv2dForward('conv2dForward', x, w, b, options, true) as Plan<Conv2dForwardResult>;
}

export function planConv2dBackward(dOut: TensorLike, cache: Conv2dCache, options?: BackwardOptions): Plan<ParameterGradients> {
  const op = 'conv2dBackward';
  if (!(cache instanceof Conv2dCache)) fail('ERR_CACHE', op, 'cache', 'the Conv2dCache of a conv2dForward', cache);
  const withInput = wantsInputGradient(op, options);
  const { x, w, layout, dtype, params } = cache;
  const dy = checkGradient(op, dOut, layout, dtype, cache.outputShape, convOutputAxes(layout), 'the forward input');
  checkCachedArray(op, 'x', x.data, x.shape[0] * x.shape[1] * x.shape[2] * x.shape[3]);
  checkCachedArray(op, 'w', w.data, w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3]);
  const dx = withInput ? new Tensor(allocate(op, 'dx', dtype, x.data.length), x.shape.slice(), layout) : null;
  const dw = new Tensor(allocate(op, 'dw', dtype, w.data.length), w.shape.slice(), layout);
  const db = cache.biasShape && new Tensor(allocate(op, 'db', dtype, params[CONV_PARAM.cout]), cache.biasShape.slice(), layout);
  const calls: KernelCall[] = [['conv2dBackwardFilter', [dy.data, x.data, dw.data, db && db.data, params]]];
  if (dx) calls.unshift(['conv2dBackwardInput', [dy.data, w.data, dx.data, params]]);
  return { calls, result: { dx, dw, db } };
}

export function planConv2dBackwardInput(dOut: TensorLike, w: TensorLike, xShape: readonly number[], options?: Conv2dOptions): Plan<Tensor> {
  const op = 'conv2dBackwardInput';
  const opts = checkOptions(op, options);
  refuseOut(op, opts);
  const layout = resolveLayout(op, opts.layout, ['dOut', dOut]);
  const weights = checkTensor(op, 'w', w, wAxes(layout));
  const dtype = dtypeOf(weights.data);
  const inputShape = checkShapeArg(op, 'xShape', xShape, xAxes(layout));
  const params = convParams(op, layout, inputShape, weights.shape, opts);
  const dy = checkGradient(op, dOut, layout, dtype, convOutputShape(layout, params), convOutputAxes(layout), 'w');
  const dx = output(op, 'dx', inputShape, dtype, layout);
  return { calls: [['conv2dBackwardInput', [dy.data, weights.data, dx.data, params]]], result: dx };
}

export function planConv2dBackwardFilter(dOut: TensorLike, x: TensorLike, wShape: readonly number[], options?: Conv2dOptions): Plan<Tensor> {
  const op = 'conv2dBackwardFilter';
  const opts = checkOptions(op, options);
  refuseOut(op, opts);
  const layout = resolveLayout(op, opts.layout, ['x', x], ['dOut', dOut]);
  const input = checkTensor(op, 'x', x, xAxes(layout));
  const dtype = dtypeOf(input.data);
  const weightShape = checkShapeArg(op, 'wShape', wShape, wAxes(layout));
  const params = convParams(op, layout, input.shape, weightShape, opts);
  const dy = checkGradient(op, dOut, layout, dtype, convOutputShape(layout, params), convOutputAxes(layout), 'x');
  const dw = output(op, 'dw', weightShape, dtype, layout);
  return { calls: [['conv2dBackwardFilter', [dy.data, input.data, dw.data, null, params]]], result: dw };
}

/** 2-D convolution (cross-correlation). w is HWIO for NHWC, OIHW for NCHW; b has Cout elements or is null. */
export function conv2d(x: TensorLike, w: Conv2dWeights, b?: BiasLike, options?: Conv2dOptions & OutputOptions): Tensor {
  return runSync(planConv2d(x, w, b, options));
}

/** conv2d that also returns the cache conv2dBackward needs. */
export function conv2dForward(x: TensorLike, w: Conv2dWeights, b?: BiasLike, options?: Conv2dOptions & OutputOptions): Conv2dForwardResult {
  return runSync(planConv2dForwardWithCache(x, w, b, options));
}

/**
 * Packs convolution weights once for the forward (a copy of w, so later writes to w do not reach
 * it). Pass the result as `w` to conv2d / conv2dForward, sync or async, with the same layout and
 * groups; see PackedConv2dWeights.
 */
export function packConv2dWeights(w: TensorLike, options?: PackConv2dOptions): PackedConv2dWeights {
  const op = 'packConv2dWeights';
  const opts = checkOptions(op, options);
  const layout = resolveLayout(op, opts.layout, ['w', w]);
  const weights = checkTensor(op, 'w', w, wAxes(layout));
  const dtype = dtypeOf(weights.data);
  // Packing depends only on the weights, groups and layout: describe them as a convolution of
  // one window-sized image.
  const [kh, kw, cinPerGroup] = layout === 'NHWC' ? weights.shape : [weights.shape[2], weights.shape[3], weights.shape[1]];
  const groups = opts.groups ?? 1;
  const c = cinPerGroup * (Number.isInteger(groups) && groups > 0 ? groups : 1);
  const xShape = layout === 'NHWC' ? [1, kh, kw, c] : [1, c, kh, kw];
  const params = convParams(op, layout, xShape, weights.shape, { groups: opts.groups });
  const copy = new Tensor(allocate(op, 'the weights copy', dtype, weights.data.length), weights.shape.slice(), layout);
  copy.data.set(weights.data);
  return callNative((binding) => {
    const length = binding.conv2dPackedWeightsLength(copy.data, params);
    const packed = length > 0 ? allocate(op, 'the packed weights', dtype, length) : null;
    if (packed) binding.conv2dPackWeights(copy.data, packed, params);
    return new PackedConv2dWeights(copy, packed, groups);
  });
}

/** Gradients of a convolution with respect to x, w and b, given the gradient of its output. */
export function conv2dBackward(dOut: TensorLike, cache: Conv2dCache, options?: BackwardOptions & { inputGradient?: true }): Conv2dGradients;
export function conv2dBackward(dOut: TensorLike, cache: Conv2dCache, options?: BackwardOptions): ParameterGradients;
export function conv2dBackward(dOut: TensorLike, cache: Conv2dCache, options?: BackwardOptions): ParameterGradients {
  return runSync(planConv2dBackward(dOut, cache, options));
}

/** Gradient with respect to the input of shape xShape (a transposed convolution of dOut). */
export function conv2dBackwardInput(dOut: TensorLike, w: TensorLike, xShape: readonly number[], options?: Conv2dOptions): Tensor {
  return runSync(planConv2dBackwardInput(dOut, w, xShape, options));
}

/** Gradient with respect to weights of shape wShape. */
export function conv2dBackwardFilter(dOut: TensorLike, x: TensorLike, wShape: readonly number[], options?: Conv2dOptions): Tensor {
  return runSync(planConv2dBackwardFilter(dOut, x, wShape, options));
}

/** A pass of a convolution, as conv2dPlan names it. */
export type Conv2dPass = 'forward' | 'backwardInput' | 'backwardFilter';

/** How the kernels run one pass: the algorithm (a stable snake_case name) and the threads it uses. */
export interface Conv2dPassPlan {
  algorithm: string;
  threads: number;
  /**
   * Bytes of scratch memory the pass needs besides its inputs and outputs: the kernels' packed
   * weights, tiles and per-thread buffers, as many as `threads` threads request. An upper bound:
   * it counts packing the weights (skipped for PackedConv2dWeights), the bias gradient's buffers
   * (skipped without a bias) and the exact-padding repair (which runs only next to non-finite
   * values). No single buffer may exceed setMemoryLimit; the total may, when spread over threads.
   */
  workspaceBytes: number;
}

export interface Conv2dPlan extends Record<Conv2dPass, Conv2dPassPlan> {
  isa: string;
  dtype: DType;
}

/**
 * Which algorithm each pass of this convolution runs (direct, depthwise, gemm_nhwc_band, ...) on the
 * active ISA with the current thread count: the choice the ops make, for debugging and benchmarks.
 */
export function conv2dPlan(x: TensorLike, w: TensorLike, options?: Conv2dOptions): Conv2dPlan {
  const op = 'conv2dPlan';
  const opts = checkOptions(op, options);
  refuseOut(op, opts);
  const layout = resolveLayout(op, opts.layout, ['x', x]);
  const input = checkTensor(op, 'x', x, xAxes(layout));
  const weights = checkTensor(op, 'w', w, wAxes(layout));
  const dtype = dtypeOf(input.data);
  checkSameDType(op, 'w', weights.data, dtype, 'x');
  const params = convParams(op, layout, input.shape, weights.shape, opts);
  return callNative((binding) => ({ isa: binding.isa(), dtype, ...binding.conv2dPlan(weights.data, params) }));
}
