// The public ops. Each op is a plan function that validates its arguments, allocates its outputs
// and says which native kernels to call; the sync API runs the plan with the blocking kernels and
// `async` runs the same plan with their libuv twins. Validation therefore exists once.
import { allocateOutput } from './alloc';
import { callNative, KernelName, native, NativeBinding } from './binding';
import { Conv2dCache, LinearCache, Pool2dCache } from './caches';
import { ConvkitError, describe, fail, fromNative } from './errors';
import { fieldOf } from './own';
import { PackedConv2dWeights } from './packed';
import {
  checkedCount,
  checkGradient,
  checkOptions,
  checkPoolMode,
  checkSameDType,
  checkShapeArg,
  checkTensor,
  Conv2dOptions,
  convOutputAxes,
  convOutputShape,
  convParams,
  dtypeOf,
  OutputOptions,
  padOutputShape,
  padParams,
  Pair,
  Pool2dOptions,
  PoolMode,
  poolOutputAxes,
  poolOutputShape,
  poolParams,
  resolveLayout,
  wAxes,
  xAxes,
} from './shapes';
import { DType, FloatArray, Layout, Tensor, TensorLike } from './tensor';

export type BiasLike = TensorLike | Float32Array | Float64Array | null;

export interface ZeroPadOptions {
  layout?: Layout;
}

export interface Conv2dForwardResult {
  output: Tensor;
  cache: Conv2dCache;
}

export interface Conv2dGradients {
  dx: Tensor;
  dw: Tensor;
  db: Tensor | null;
}

export interface LinearForwardResult {
  output: Tensor;
  cache: LinearCache;
}

export interface LinearGradients {
  dx: Tensor;
  dw: Tensor;
  db: Tensor | null;
}

/** Options of conv2dBackward and linearBackward. */
export interface BackwardOptions {
  /**
   * Default true. False skips dx (returned as null), as PyTorch does for an input that does not
   * require grad: the first layer of a network needs only its parameter gradients.
   */
  inputGradient?: boolean;
}

/** Gradients when dx may have been skipped. */
export interface ParameterGradients {
  dx: Tensor | null;
  dw: Tensor;
  db: Tensor | null;
}

function wantsInputGradient(op: string, options: BackwardOptions | undefined): boolean {
  const flag = checkOptions(op, options).inputGradient ?? true;
  if (typeof flag !== 'boolean') fail('ERR_ARG', op, 'options.inputGradient', 'a boolean', flag);
  return flag;
}

/** The weights argument of a convolution forward: a tensor, or weights packed ahead. */
export type Conv2dWeights = TensorLike | PackedConv2dWeights;

/** What the packing of convolution weights depends on; stride, padding and dilation do not matter. */
export interface PackConv2dOptions {
  layout?: Layout;
  groups?: number;
}

export interface Pool2dForwardOptions extends Pool2dOptions, OutputOptions {
  mode: PoolMode;
}

export interface Pool2dForwardResult {
  output: Tensor;
  cache: Pool2dCache;
}

type KernelCall = [KernelName, unknown[]];

/** Validated, allocated work: the kernel calls to make, then the value to return. */
interface Plan<R> {
  calls: KernelCall[];
  result: R;
}

const ASYNC_NAME: Record<KernelName, `${KernelName}Async`> = {
  conv2dForward: 'conv2dForwardAsync',
  conv2dBackwardInput: 'conv2dBackwardInputAsync',
  conv2dBackwardFilter: 'conv2dBackwardFilterAsync',
  pool2dForward: 'pool2dForwardAsync',
  pool2dBackward: 'pool2dBackwardAsync',
  zeroPad: 'zeroPadAsync',
  gemm: 'gemmAsync',
};

type AnyKernel = (...args: unknown[]) => unknown;

function runSync<R>(plan: Plan<R>): R {
  const binding = native();
  try {
    for (const [name, args] of plan.calls) (binding[name] as AnyKernel)(...args);
  } catch (error) {
    throw fromNative(error);
  }
  return plan.result;
}

/** Where each kernel's outputs sit among its arguments. */
const OUTPUT_ARGS: Record<KernelName, readonly number[]> = {
  conv2dForward: [3],
  conv2dBackwardInput: [2],
  conv2dBackwardFilter: [2, 3],
  pool2dForward: [1, 2],
  pool2dBackward: [2],
  zeroPad: [1],
  gemm: [3],
};

async function runAsync<R>(plan: () => Plan<R>): Promise<R> {
  // Inside an async function, a validation error becomes a rejection.
  const { calls, result } = plan();
  const binding: NativeBinding = native();
  const outputs = calls.flatMap(([name, args]) =>
    OUTPUT_ARGS[name].map((i) => args[i]).filter((a): a is ArrayBufferView => ArrayBuffer.isView(a) && a.byteLength > 0));
  try {
    await Promise.all(calls.map(([name, args]) => (binding[ASYNC_NAME[name]] as AnyKernel)(...args)));
  } catch (error) {
    throw fromNative(error);
  }
  // The addon pins the memory, so the kernel wrote safely, but into whoever received a buffer the
  // caller transferred meanwhile: the result is not here to return.
  if (outputs.some((a) => a.byteLength === 0))
    throw new ConvkitError('ERR_ARG', 'an output buffer (options.out or a result array) was detached or transferred while the async call ran; its result went with it');
  return result;
}

function allocate(op: string, name: string, dtype: DType, count: number): FloatArray {
  return allocateOutput(op, name, dtype === 'float64' ? Float64Array : Float32Array, count);
}

function allocateIndices(op: string, count: number): Int32Array {
  return allocateOutput(op, 'the argmax', Int32Array, count);
}

/** A new tensor of this shape, checked against the size limits before allocation. */
function output(op: string, name: string, shape: number[], dtype: DType, layout: Layout): Tensor {
  return new Tensor(allocate(op, name, dtype, checkedCount(op, name, shape, dtype)), shape, layout);
}

/**
 * A forward's output: options.out when given (it must have exactly the output's shape, dtype and
 * layout, and share no memory with an input; the addon re-checks that), else a new tensor.
 * Writing into the same array call after call keeps it in cache and spares the allocation.
 */
function forwardOutput(
  op: string,
  out: unknown,
  axes: string,
  shape: number[],
  dtype: DType,
  layout: Layout,
  inputs: [string, FloatArray | null][],
): Tensor {
  if (out === undefined) return output(op, 'output', shape, dtype, layout);
  const given = checkTensor(op, 'options.out', out, axes);
  checkSameDType(op, 'options.out', given.data, dtype, 'x');
  if (given.shape.some((size, axis) => size !== shape[axis])) {
    throw new ConvkitError('ERR_SHAPE', `${op}: options.out must have the output's shape ${describe(shape)}, got ${describe(given.shape)}`);
  }
  const own = given.layout;
  if (own !== undefined && own !== layout) fail('ERR_ARG', op, 'options.out.layout', `${describe(layout)} like the output`, own);
  const data = given.data;
  for (const [name, input] of inputs) {
    const overlaps = input && input.buffer === data.buffer && input.byteOffset < data.byteOffset + data.byteLength && data.byteOffset < input.byteOffset + input.byteLength;
    if (overlaps) throw new ConvkitError('ERR_ARG', `${op}: options.out must not share memory with ${name}`);
  }
  return out instanceof Tensor ? out : new Tensor(data, shape, layout);
}

/** Ops that always allocate their results refuse options.out rather than ignore it. */
function refuseOut(op: string, options: object): void {
  if (fieldOf(options, 'out') !== undefined) fail('ERR_ARG', op, 'options.out', 'absent (only forwards write into a given output)', 'a value');
}

// ---------------------------------------------------------------------------------------------
// Plans

function planZeroPad(x: TensorLike, pad: Pair, options?: ZeroPadOptions): Plan<Tensor> {
  const op = 'zeroPad';
  const opts = checkOptions(op, options);
  const layout = resolveLayout(op, opts.layout, ['x', x]);
  const input = checkTensor(op, 'x', x, xAxes(layout));
  const params = padParams(op, layout, input.shape, pad);
  const y = output(op, 'output', padOutputShape(layout, params), dtypeOf(input.data), layout);
  return { calls: [['zeroPad', [input.data, y.data, params]]], result: y };
}

/** What a bias may look like: its element count's name in messages, and whether [1, 1, 1, count] is accepted. */
interface BiasRule {
  countName: string;
  accept4d: boolean;
}
const CONV_BIAS: BiasRule = { countName: 'Cout', accept4d: true };
const LINEAR_BIAS: BiasRule = { countName: 'out', accept4d: false };

/** The bias as a typed array of `count` elements, with the shape db will take; null without bias. */
function checkBias(op: string, b: unknown, count: number, dtype: DType, rule: BiasRule): { data: FloatArray; shape: number[] } | null {
  if (b === null || b === undefined) return null;
  let data: unknown;
  let shape: number[];
  if (b instanceof Float32Array || b instanceof Float64Array) {
    data = b;
    shape = [b.length];
  } else if (typeof b === 'object' && !ArrayBuffer.isView(b)) {
    data = fieldOf(b, 'data');
    const given = fieldOf(b, 'shape') as number[];
    if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      return fail('ERR_DTYPE', op, 'b.data', 'a Float32Array or Float64Array', data);
    }
    const { countName, accept4d } = rule;
    const isVector = Array.isArray(given) && given.length === 1 && given[0] === count;
    const is4d = accept4d && Array.isArray(given) && given.length === 4 && given[0] === 1 && given[1] === 1 && given[2] === 1 && given[3] === count;
    if (!isVector && !is4d) {
      const shapes = accept4d ? `[${countName}] or [1, 1, 1, ${countName}]` : `[${countName}]`;
      fail('ERR_SHAPE', op, 'b', `of shape ${shapes} with ${countName} = ${count}`, given);
    }
    shape = given.slice();
  } else {
    return fail('ERR_ARG', op, 'b', 'a Tensor, a Float32Array, a Float64Array or null', b);
  }
  const values = data as FloatArray;
  if (values.length !== count) throw new ConvkitError('ERR_SHAPE', `${op}: b must have ${rule.countName} = ${count} elements, got ${values.length}`);
  checkSameDType(op, 'b', values, dtype, 'x');
  return { data: values, shape };
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
  const bias = checkBias(op, b, params[7], dtype, CONV_BIAS);
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

function planConv2d(x: TensorLike, w: Conv2dWeights, b?: BiasLike, options?: Conv2dOptions & OutputOptions): Plan<Tensor> {
  const { calls, result } = planConv2dForward('conv2d', x, w, b, options, false);
  return { calls, result: result.output };
}

function planConv2dForwardWithCache(x: TensorLike, w: Conv2dWeights, b?: BiasLike, options?: Conv2dOptions & OutputOptions): Plan<Conv2dForwardResult> {
  return planConv2dForward('conv2dForward', x, w, b, options, true) as Plan<Conv2dForwardResult>;
}

/** Throws ERR_CACHE if a cached array was detached (e.g. transferred to a worker) since the forward. */
function checkCachedArray(op: string, name: string, data: { length: number }, expected: number): void {
  if (data.length !== expected) {
    throw new ConvkitError('ERR_CACHE', `${op}: the cache's ${name} now has ${data.length} elements instead of ${expected} (was its buffer detached?)`);
  }
}

function planConv2dBackward(dOut: TensorLike, cache: Conv2dCache, options?: BackwardOptions): Plan<ParameterGradients> {
  const op = 'conv2dBackward';
  if (!(cache instanceof Conv2dCache)) fail('ERR_CACHE', op, 'cache', 'the Conv2dCache of a conv2dForward', cache);
  const withInput = wantsInputGradient(op, options);
  const { x, w, layout, dtype, params } = cache;
  const dy = checkGradient(op, dOut, layout, dtype, cache.outputShape, convOutputAxes(layout), 'the forward input');
  checkCachedArray(op, 'x', x.data, x.shape[0] * x.shape[1] * x.shape[2] * x.shape[3]);
  checkCachedArray(op, 'w', w.data, w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3]);
  const dx = withInput ? new Tensor(allocate(op, 'dx', dtype, x.data.length), x.shape.slice(), layout) : null;
  const dw = new Tensor(allocate(op, 'dw', dtype, w.data.length), w.shape.slice(), layout);
  const db = cache.biasShape && new Tensor(allocate(op, 'db', dtype, params[7]), cache.biasShape.slice(), layout);
  const calls: KernelCall[] = [['conv2dBackwardFilter', [dy.data, x.data, dw.data, db && db.data, params]]];
  if (dx) calls.unshift(['conv2dBackwardInput', [dy.data, w.data, dx.data, params]]);
  return { calls, result: { dx, dw, db } };
}

function planConv2dBackwardInput(dOut: TensorLike, w: TensorLike, xShape: readonly number[], options?: Conv2dOptions): Plan<Tensor> {
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

function planConv2dBackwardFilter(dOut: TensorLike, x: TensorLike, wShape: readonly number[], options?: Conv2dOptions): Plan<Tensor> {
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

function planMaxPool2d(x: TensorLike, options: Pool2dOptions & OutputOptions): Plan<Tensor> {
  const { calls, result } = planPool2dForward('maxPool2d', x, options, 'max', false);
  return { calls, result: result.output };
}

function planAvgPool2d(x: TensorLike, options: Pool2dOptions & OutputOptions): Plan<Tensor> {
  const { calls, result } = planPool2dForward('avgPool2d', x, options, 'avg', false);
  return { calls, result: result.output };
}

function planPool2dForwardWithCache(x: TensorLike, options: Pool2dForwardOptions): Plan<Pool2dForwardResult> {
  const op = 'pool2dForward';
  const mode = checkPoolMode(op, checkOptions(op, options).mode);
  return planPool2dForward(op, x, options, mode, true) as Plan<Pool2dForwardResult>;
}

function planPool2dBackward(dOut: TensorLike, cache: Pool2dCache): Plan<Tensor> {
  const op = 'pool2dBackward';
  if (!(cache instanceof Pool2dCache)) fail('ERR_CACHE', op, 'cache', 'the Pool2dCache of a pool2dForward', cache);
  const { layout, dtype, argmax } = cache;
  const dy = checkGradient(op, dOut, layout, dtype, cache.outputShape, poolOutputAxes(layout), 'the forward input');
  if (argmax) checkCachedArray(op, 'argmax', argmax, dy.data.length);
  const dx = output(op, 'dx', cache.inputShape.slice(), dtype, layout);
  return { calls: [['pool2dBackward', [dy.data, argmax, dx.data, cache.params]]], result: dx };
}

// Linear layers are GEMMs with strides: x [M, in] (M = every leading dimension of x together),
// w [out, in] as in PyTorch. gemm params: [M, N, K, aRowStride, aColStride, bRowStride, bColStride, accumulate].

/** A one-element 1 for each dtype: with zero strides it is the all-ones row that sums dOut's rows into db. */
const ONE = { float32: new Float32Array([1]), float64: new Float64Array([1]) };

function planLinearForward(
  op: string,
  x: TensorLike,
  w: TensorLike,
  b: BiasLike | undefined,
  keepCache: boolean,
): Plan<{ output: Tensor; cache: LinearCache | null }> {
  const input = checkTensor(op, 'x', x, '[..., in]', 'any');
  const dtype = dtypeOf(input.data);
  const weights = checkTensor(op, 'w', w, '[out, in]', 2);
  checkSameDType(op, 'w', weights.data, dtype, 'x');
  const [outFeatures, inFeatures] = weights.shape;
  const xShape = input.shape.slice();
  if (xShape[xShape.length - 1] !== inFeatures) {
    throw new ConvkitError(
      'ERR_SHAPE',
      `${op}: the last dimension of x [..., in] must be in = ${inFeatures} (w [out, in] has shape ${describe(weights.shape)}), got x shape ${describe(xShape)}`,
    );
  }
  const bias = checkBias(op, b, outFeatures, dtype, LINEAR_BIAS);
  const layout = resolveLayout(op, undefined, ['x', x]);
  const y = output(op, 'output', [...xShape.slice(0, -1), outFeatures], dtype, layout);
  const rows = input.data.length / inFeatures;
  const cache = keepCache
    ? new LinearCache(new Tensor(input.data, xShape, layout), new Tensor(weights.data, weights.shape.slice(), layout), bias && bias.shape, y.shape.slice())
    : null;
  const params = [rows, outFeatures, inFeatures, inFeatures, 1, 1, inFeatures, 0];
  return { calls: [['gemm', [input.data, weights.data, bias && bias.data, y.data, params]]], result: { output: y, cache } };
}

function planLinear(x: TensorLike, w: TensorLike, b?: BiasLike): Plan<Tensor> {
  const { calls, result } = planLinearForward('linear', x, w, b, false);
  return { calls, result: result.output };
}

function planLinearForwardWithCache(x: TensorLike, w: TensorLike, b?: BiasLike): Plan<LinearForwardResult> {
  return planLinearForward('linearForward', x, w, b, true) as Plan<LinearForwardResult>;
}

function planLinearBackward(dOut: TensorLike, cache: LinearCache, options?: BackwardOptions): Plan<ParameterGradients> {
  const op = 'linearBackward';
  if (!(cache instanceof LinearCache)) fail('ERR_CACHE', op, 'cache', 'the LinearCache of a linearForward', cache);
  const withInput = wantsInputGradient(op, options);
  const { x, w, dtype } = cache;
  const dy = checkGradient(op, dOut, null, dtype, cache.outputShape, '[..., out]', 'the forward input');
  const [outFeatures, inFeatures] = w.shape;
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  checkCachedArray(op, 'x', x.data, rows * inFeatures);
  checkCachedArray(op, 'w', w.data, outFeatures * inFeatures);
  const dx = withInput ? new Tensor(allocate(op, 'dx', dtype, x.data.length), x.shape.slice(), x.layout) : null;
  const dw = new Tensor(allocate(op, 'dw', dtype, w.data.length), w.shape.slice(), w.layout);
  const db = cache.biasShape && new Tensor(allocate(op, 'db', dtype, outFeatures), cache.biasShape.slice(), x.layout);
  const calls: KernelCall[] = [
    // dw = dOut^T * x
    ['gemm', [dy.data, x.data, null, dw.data, [outFeatures, inFeatures, rows, 1, outFeatures, inFeatures, 1, 0]]],
  ];
  // dx = dOut * w
  if (dx) calls.unshift(['gemm', [dy.data, w.data, null, dx.data, [rows, inFeatures, outFeatures, outFeatures, 1, inFeatures, 1, 0]]]);
  // db = ones[1, rows] * dOut
  if (db) calls.push(['gemm', [ONE[dtype], dy.data, null, db.data, [1, outFeatures, rows, 0, 0, outFeatures, 1, 0]]]);
  return { calls, result: { dx, dw, db } };
}

// ---------------------------------------------------------------------------------------------
// Sync API

/** Pads H and W with zeros: `pad` rows/columns on each side (`[ph, pw]` for different amounts). */
export function zeroPad(x: TensorLike, pad: Pair, options?: ZeroPadOptions): Tensor {
  return runSync(planZeroPad(x, pad, options));
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

/** A fully connected layer, y = x w^T + b (PyTorch's layout): x [..., in], w [out, in], b [out] or null. */
export function linear(x: TensorLike, w: TensorLike, b?: BiasLike): Tensor {
  return runSync(planLinear(x, w, b));
}

/** linear that also returns the cache linearBackward needs. */
export function linearForward(x: TensorLike, w: TensorLike, b?: BiasLike): LinearForwardResult {
  return runSync(planLinearForwardWithCache(x, w, b));
}

/** Gradients of a linear layer with respect to x, w and b, given the gradient of its output. */
export function linearBackward(dOut: TensorLike, cache: LinearCache, options?: BackwardOptions & { inputGradient?: true }): LinearGradients;
export function linearBackward(dOut: TensorLike, cache: LinearCache, options?: BackwardOptions): ParameterGradients;
export function linearBackward(dOut: TensorLike, cache: LinearCache, options?: BackwardOptions): ParameterGradients {
  return runSync(planLinearBackward(dOut, cache, options));
}

// ---------------------------------------------------------------------------------------------
// Async API: the same ops, run off the JS thread; every failure is a rejection.

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

// ---------------------------------------------------------------------------------------------
// Runtime

/** Threads of the shared kernel pool (default: the CPUs available to the process). The addon checks n. */
export function setNumThreads(n: number): void {
  callNative((binding) => binding.setNumThreads(n));
}

export function getNumThreads(): number {
  return callNative((binding) => binding.getNumThreads());
}

/** The instruction set the kernels use: 'avx512', 'avx2' or 'generic' (CONVKIT_ISA forces one). */
export function isa(): string {
  return callNative((binding) => binding.isa());
}

export function supportedIsas(): string[] {
  return callNative((binding) => binding.supportedIsas());
}

export function buildInfo(): Record<string, unknown> {
  return callNative((binding) => binding.buildInfo());
}
