// Pure shape logic: option normalisation, output sizes and the validation of every argument.
// Nothing here touches tensor data element by element, so validation costs the same for any size.
import * as os from 'os';
import { ConvkitError, describe, fail } from './errors';
import {
  CONV_PARAM,
  ConvParams,
  encodeConvParams,
  encodePadParams,
  encodePoolParams,
  MAX_DIMENSION,
  PAD_PARAM,
  PadParams,
  POOL_PARAM,
  PoolParams,
} from './generated/boundary';
import { fieldOf, ownOptions } from './own';
import { checkLayout, DType, FloatArray, Layout, TensorLike } from './tensor';

export type Pair = number | [number, number];

export interface Conv2dOptions {
  layout?: Layout;
  stride?: Pair;
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}

/** Forwards only: a tensor of the output's shape, dtype and layout to write into instead of a new one. */
export interface OutputOptions {
  out?: TensorLike;
}

export interface Pool2dOptions {
  layout?: Layout;
  kernelSize: Pair;
  /** Defaults to kernelSize. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  /** Average pooling only; defaults to true. */
  countIncludePad?: boolean;
}

export type PoolMode = 'max' | 'avg';

/** The most elements one tensor may have: the longest typed array the JS engine allocates. */
export const MAX_ELEMENTS = 2 ** 32;
const MACHINE_BYTES = os.totalmem();

// What the ops hand the addon: number arrays laid out by schema/boundary.json.
export type { ConvParams, PadParams, PoolParams };

const X_AXES = { NHWC: '[N, H, W, C]', NCHW: '[N, C, H, W]' } as const;
const W_AXES = { NHWC: '[KH, KW, Cin/groups, Cout]', NCHW: '[Cout, Cin/groups, KH, KW]' } as const;
const Y_AXES = { NHWC: '[N, OH, OW, Cout]', NCHW: '[N, Cout, OH, OW]' } as const;
const POOL_Y_AXES = { NHWC: '[N, OH, OW, C]', NCHW: '[N, C, OH, OW]' } as const;

export function dtypeOf(data: FloatArray): DType {
  return data instanceof Float64Array ? 'float64' : 'float32';
}

const NO_OPTIONS = Object.freeze(Object.create(null) as object);

/** A snapshot of the options' own properties, with no Object.prototype behind it (own.ts); empty when omitted. */
export function checkOptions<T extends object>(op: string, options: T | undefined | null): Partial<T> {
  if (options === undefined || options === null) return NO_OPTIONS;
  if (typeof options !== 'object' || Array.isArray(options)) return fail('ERR_ARG', op, 'options', 'an object', options);
  return ownOptions(options);
}

/**
 * The op's layout: options.layout, else the layout carried by the main tensor argument(s), else
 * NHWC. A tensor whose own layout contradicts options.layout is refused rather than reinterpreted.
 */
export function resolveLayout(op: string, optionLayout: unknown, ...carriers: [string, unknown][]): Layout {
  let layout: Layout | undefined = optionLayout === undefined ? undefined : checkLayout(op, optionLayout);
  let source = 'options.layout';
  for (const [name, value] of carriers) {
    const own = fieldOf(value, 'layout');
    if (own === undefined) continue;
    checkLayout(op, own);
    if (layout === undefined) {
      layout = own as Layout;
      source = `${name}.layout`;
    } else if (own !== layout) {
      throw new ConvkitError('ERR_ARG', `${op}: ${name}.layout is ${describe(own)} but ${source} is ${describe(layout)}`);
    }
  }
  return layout ?? 'NHWC';
}

/**
 * Checks a tensor argument of `rank` dimensions, 4 unless told (`axes` names them for messages;
 * 'any' accepts any rank from 1): a `{ data, shape }` with a Float32Array or Float64Array,
 * positive integer sizes and as many elements as the shape says. Returns its fields as read
 * once (none of them inherited from Object.prototype).
 */
export function checkTensor(op: string, name: string, value: unknown, axes: string, rank: number | 'any' = 4): TensorLike {
  if (value === null || typeof value !== 'object') return fail('ERR_ARG', op, name, 'a Tensor or { data, shape }', value);
  const data = fieldOf(value, 'data');
  const shape = fieldOf(value, 'shape');
  const layout = fieldOf(value, 'layout') as Layout | undefined;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) {
    return fail('ERR_DTYPE', op, `${name}.data`, 'a Float32Array or Float64Array', data);
  }
  if (!Array.isArray(shape) || (rank === 'any' ? shape.length < 1 : shape.length !== rank)) {
    const dimensions = rank === 'any' ? 'at least 1 dimension' : `${rank} dimensions`;
    throw new ConvkitError(
      'ERR_SHAPE',
      `${op}: ${name} must have ${dimensions} ${axes}, got ${Array.isArray(shape) ? `shape ${describe(shape)}` : describe(shape)}`,
    );
  }
  checkSizes(op, `${name}.shape`, shape);
  let count = 1;
  for (const size of shape) count *= size;
  if (count !== data.length) {
    throw new ConvkitError('ERR_SHAPE', `${op}: ${name} has shape ${describe(shape)}, which needs ${count} elements, but ${name}.data has ${data.length}`);
  }
  return { data, shape: shape as number[], layout };
}

/** Every entry a positive integer no larger than the native limit. */
export function checkSizes(op: string, name: string, shape: readonly unknown[]): void {
  for (let axis = 0; axis < shape.length; axis++) {
    const size = shape[axis];
    if (!Number.isInteger(size) || (size as number) < 1) fail('ERR_SHAPE', op, `${name}[${axis}]`, 'a positive integer', size);
    if ((size as number) > MAX_DIMENSION) fail('ERR_TOO_LARGE', op, `${name}[${axis}]`, 'at most 2^31', size);
  }
}

/** A 4-D shape given as a plain number array (xShape, wShape). */
export function checkShapeArg(op: string, name: string, shape: unknown, axes: string): number[] {
  if (!Array.isArray(shape) || shape.length !== 4) fail('ERR_SHAPE', op, name, `an array of 4 sizes ${axes}`, shape);
  checkSizes(op, name, shape as unknown[]);
  return (shape as number[]).slice();
}

export function checkSameDType(op: string, name: string, data: FloatArray, dtype: DType, reference: string): void {
  if (dtypeOf(data) !== dtype) throw new ConvkitError('ERR_DTYPE', `${op}: ${name} must be ${dtype} like ${reference}, got ${dtypeOf(data)}`);
}

/** Throws ERR_TOO_LARGE unless a tensor of this shape can be allocated; returns its element count. */
export function checkedCount(op: string, name: string, shape: readonly number[], dtype: DType): number {
  let count = 1;
  for (const size of shape) count *= size;
  if (count > MAX_ELEMENTS) {
    throw new ConvkitError('ERR_TOO_LARGE', `${op}: ${name} of shape ${describe(shape)} would have ${count} elements, more than the 2^32 a typed array holds`);
  }
  const bytes = count * (dtype === 'float64' ? 8 : 4);
  if (bytes > MACHINE_BYTES) {
    throw new ConvkitError(
      'ERR_TOO_LARGE',
      `${op}: ${name} of shape ${describe(shape)} would need ${gib(bytes)} GiB, more than this machine's ${gib(MACHINE_BYTES)} GiB of memory`,
    );
  }
  return count;
}

function gib(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(1);
}

/** `number | [a, b]` -> [a, b], each an integer >= min (and at most 2^31). */
export function pair(op: string, name: string, value: unknown, fallback: number, min: 0 | 1): [number, number] {
  if (value === undefined) return [fallback, fallback];
  const expected = min === 1 ? 'a positive integer or a pair of them' : 'a non-negative integer or a pair of them';
  let a: unknown;
  let b: unknown;
  if (Array.isArray(value)) {
    if (value.length !== 2) fail('ERR_ARG', op, name, expected, value);
    [a, b] = value;
  } else {
    a = b = value;
  }
  if (!Number.isInteger(a) || !Number.isInteger(b) || (a as number) < min || (b as number) < min) fail('ERR_ARG', op, name, expected, value);
  if ((a as number) > MAX_DIMENSION || (b as number) > MAX_DIMENSION) fail('ERR_TOO_LARGE', op, name, 'at most 2^31', value);
  return [a as number, b as number];
}

function positiveInteger(op: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1) fail('ERR_ARG', op, name, 'a positive integer', value);
  if ((value as number) > MAX_DIMENSION) fail('ERR_TOO_LARGE', op, name, 'at most 2^31', value);
  return value as number;
}

function flag(op: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail('ERR_ARG', op, name, 'a boolean', value);
  return value;
}

/** Convolution output size along one dimension (PyTorch); 0 or less when the kernel does not fit. */
export function convOutSize(size: number, padLow: number, padHigh: number, kernel: number, dilation: number, stride: number): number {
  return Math.floor((size + padLow + padHigh - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** Pool output size along one dimension (PyTorch, ceilMode included); 0 or less when the kernel does not fit. */
export function poolOutSize(size: number, pad: number, kernel: number, stride: number, ceilMode: boolean): number {
  const span = size + 2 * pad - kernel;
  if (span < 0) return 0;
  if (!ceilMode) return Math.floor(span / stride) + 1;
  let out = Math.ceil(span / stride) + 1;
  // The last window must start inside the input or the top/left padding.
  if ((out - 1) * stride >= size + pad) out--;
  return out;
}

/** PyTorch's 'same': total dilation*(k-1), the odd extra at the bottom/right. Returns [low, high]. */
export function samePadding(kernel: number, dilation: number): [number, number] {
  const total = dilation * (kernel - 1);
  const low = Math.floor(total / 2);
  return [low, total - low];
}

/** Logical [n, h, w, c] of an activation shape in the given layout. */
export function nhwc(layout: Layout, shape: readonly number[]): [number, number, number, number] {
  return layout === 'NHWC' ? [shape[0], shape[1], shape[2], shape[3]] : [shape[0], shape[2], shape[3], shape[1]];
}

/** An activation shape in the given layout from logical sizes. */
export function activationShape(layout: Layout, n: number, h: number, w: number, c: number): number[] {
  return layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
}

export function xAxes(layout: Layout): string {
  return X_AXES[layout];
}
export function wAxes(layout: Layout): string {
  return W_AXES[layout];
}
export function convOutputAxes(layout: Layout): string {
  return Y_AXES[layout];
}
export function poolOutputAxes(layout: Layout): string {
  return POOL_Y_AXES[layout];
}

/**
 * Validates a convolution's geometry (channels, groups, options, kernel fit) from the shapes of
 * x and w, and returns the native parameter vector.
 */
export function convParams(op: string, layout: Layout, xShape: readonly number[], wShape: readonly number[], options: Partial<Conv2dOptions>): ConvParams {
  const [n, h, w, c] = nhwc(layout, xShape);
  const nhwcWeights = layout === 'NHWC';
  const kh = nhwcWeights ? wShape[0] : wShape[2];
  const kw = nhwcWeights ? wShape[1] : wShape[3];
  const cinPerGroup = nhwcWeights ? wShape[2] : wShape[1];
  const cout = nhwcWeights ? wShape[3] : wShape[0];

  const groups = positiveInteger(op, 'options.groups', options.groups, 1);
  if (c % groups !== 0) {
    throw new ConvkitError('ERR_SHAPE', `${op}: options.groups (${groups}) must divide the input channels C = ${c}`);
  }
  if (cout % groups !== 0) {
    throw new ConvkitError('ERR_SHAPE', `${op}: options.groups (${groups}) must divide the output channels Cout = ${cout} of w ${describe(wShape)}`);
  }
  if (cinPerGroup !== c / groups) {
    throw new ConvkitError(
      'ERR_SHAPE',
      `${op}: w ${W_AXES[layout]} must have Cin/groups = ${c / groups} (input channels C = ${c}, groups = ${groups}), got shape ${describe(wShape)}`,
    );
  }

  const [strideH, strideW] = pair(op, 'options.stride', options.stride, 1, 1);
  const [dilationH, dilationW] = pair(op, 'options.dilation', options.dilation, 1, 1);
  let padTop: number, padBottom: number, padLeft: number, padRight: number;
  const padding = options.padding;
  if (padding === 'same') {
    if (strideH !== 1 || strideW !== 1) fail('ERR_ARG', op, "options.stride with padding 'same'", '1 (as in PyTorch)', options.stride);
    [padTop, padBottom] = samePadding(kh, dilationH);
    [padLeft, padRight] = samePadding(kw, dilationW);
  } else if (padding === 'valid') {
    padTop = padBottom = padLeft = padRight = 0;
  } else {
    if (typeof padding === 'string') fail('ERR_ARG', op, 'options.padding', "a non-negative integer, a pair of them, 'same' or 'valid'", padding);
    [padTop, padLeft] = pair(op, 'options.padding', padding, 0, 0);
    padBottom = padTop;
    padRight = padLeft;
  }

  const oh = convOutSize(h, padTop, padBottom, kh, dilationH, strideH);
  const ow = convOutSize(w, padLeft, padRight, kw, dilationW, strideW);
  if (oh < 1 || ow < 1) {
    throw new ConvkitError(
      'ERR_SHAPE',
      `${op}: the kernel ${kh}x${kw} (dilation ${dilationH}x${dilationW}, spanning ${dilationH * (kh - 1) + 1}x${dilationW * (kw - 1) + 1}) ` +
        `must fit in the padded input ${h + padTop + padBottom}x${w + padLeft + padRight}`,
    );
  }
  return encodeConvParams({
    layout,
    n,
    h,
    w,
    c,
    kh,
    kw,
    cout,
    groups,
    oh,
    ow,
    strideH,
    strideW,
    padTop,
    padLeft,
    padBottom,
    padRight,
    dilationH,
    dilationW,
  });
}

/** The output (dOut) shape of a convolution, in its layout. */
export function convOutputShape(layout: Layout, params: ConvParams): number[] {
  return activationShape(layout, params[CONV_PARAM.n], params[CONV_PARAM.oh], params[CONV_PARAM.ow], params[CONV_PARAM.cout]);
}

export function poolParams(op: string, layout: Layout, xShape: readonly number[], options: Partial<Pool2dOptions>, mode: PoolMode): PoolParams {
  const [n, h, w, c] = nhwc(layout, xShape);
  if (options.kernelSize === undefined) fail('ERR_ARG', op, 'options.kernelSize', 'a positive integer or a pair of them', undefined);
  const [kh, kw] = pair(op, 'options.kernelSize', options.kernelSize, 1, 1);
  const [strideH, strideW] = pair(op, 'options.stride', options.stride ?? options.kernelSize, 1, 1);
  const [padH, padW] = pair(op, 'options.padding', options.padding, 0, 0);
  if (2 * padH > kh || 2 * padW > kw) {
    fail('ERR_ARG', op, 'options.padding', `at most half the kernel size ${kh}x${kw}`, options.padding);
  }
  const ceilMode = flag(op, 'options.ceilMode', options.ceilMode, false);
  const countIncludePad = flag(op, 'options.countIncludePad', options.countIncludePad, true);
  // The max-pool argmax indexes one (n, c) plane with an int32.
  if (h * w > 2 ** 31 - 1) fail('ERR_TOO_LARGE', op, 'the input plane H*W', 'less than 2^31 elements', h * w);
  const oh = poolOutSize(h, padH, kh, strideH, ceilMode);
  const ow = poolOutSize(w, padW, kw, strideW, ceilMode);
  if (oh < 1 || ow < 1) {
    throw new ConvkitError('ERR_SHAPE', `${op}: the pool kernel ${kh}x${kw} must fit in the padded input ${h + 2 * padH}x${w + 2 * padW}`);
  }
  return encodePoolParams({ layout, mode, n, c, h, w, kh, kw, oh, ow, strideH, strideW, padH, padW, ceilMode, countIncludePad });
}

export function checkPoolMode(op: string, mode: unknown): PoolMode {
  if (mode !== 'max' && mode !== 'avg') fail('ERR_ARG', op, 'options.mode', "'max' or 'avg'", mode);
  return mode;
}

/** The output shape of a pool, in its layout. */
export function poolOutputShape(layout: Layout, params: PoolParams): number[] {
  return activationShape(layout, params[POOL_PARAM.n], params[POOL_PARAM.oh], params[POOL_PARAM.ow], params[POOL_PARAM.c]);
}

export function padParams(op: string, layout: Layout, xShape: readonly number[], pad: unknown): PadParams {
  const [n, h, w, c] = nhwc(layout, xShape);
  if (pad === undefined) fail('ERR_ARG', op, 'pad', 'a non-negative integer or a pair of them', pad);
  const [padH, padW] = pair(op, 'pad', pad, 0, 0);
  return encodePadParams({ layout, n, c, h, w, padTop: padH, padLeft: padW, padBottom: padH, padRight: padW });
}

export function padOutputShape(layout: Layout, params: PadParams): number[] {
  const outH = params[PAD_PARAM.h] + params[PAD_PARAM.padTop] + params[PAD_PARAM.padBottom];
  const outW = params[PAD_PARAM.w] + params[PAD_PARAM.padLeft] + params[PAD_PARAM.padRight];
  return activationShape(layout, params[PAD_PARAM.n], outH, outW, params[PAD_PARAM.c]);
}

/** dOut must be exactly the forward output: same shape, dtype and layout (null: a matrix, whose layout is not checked). */
export function checkGradient(
  op: string,
  value: unknown,
  layout: Layout | null,
  dtype: DType,
  expectedShape: readonly number[],
  axes: string,
  reference: string,
): TensorLike {
  const dOut = checkTensor(op, 'dOut', value, axes, expectedShape.length);
  if (layout !== null && dOut.layout !== undefined && dOut.layout !== layout) {
    throw new ConvkitError('ERR_SHAPE', `${op}: dOut.layout must be ${layout} like the forward output, got ${describe(dOut.layout)}`);
  }
  checkSameDType(op, 'dOut', dOut.data, dtype, reference);
  for (let axis = 0; axis < expectedShape.length; axis++) {
    if (dOut.shape[axis] !== expectedShape[axis]) {
      throw new ConvkitError('ERR_SHAPE', `${op}: dOut must have the forward output's shape ${describe(expectedShape)} ${axes}, got ${describe(dOut.shape)}`);
    }
  }
  return dOut;
}
