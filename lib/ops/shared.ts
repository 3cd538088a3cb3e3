// What the op families share: output allocation (options.out included), the bias rules, the
// backward options and the checks of a forward cache's arrays.
import { allocateOutput } from '../alloc';
import { ConvkitError, describe, fail } from '../errors';
import { fieldOf } from '../own';
import { checkedCount, checkOptions, checkSameDType, checkTensor } from '../shapes';
import { DType, FloatArray, Layout, Tensor, TensorLike } from '../tensor';

export type BiasLike = TensorLike | Float32Array | Float64Array | null;

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

export function wantsInputGradient(op: string, options: BackwardOptions | undefined): boolean {
  const flag = checkOptions(op, options).inputGradient ?? true;
  if (typeof flag !== 'boolean') fail('ERR_ARG', op, 'options.inputGradient', 'a boolean', flag);
  return flag;
}

export function allocate(op: string, name: string, dtype: DType, count: number): FloatArray {
  return allocateOutput(op, name, dtype === 'float64' ? Float64Array : Float32Array, count);
}

export function allocateIndices(op: string, count: number): Int32Array {
  return allocateOutput(op, 'the argmax', Int32Array, count);
}

/** A new tensor of this shape, checked against the size limits before allocation. */
export function output(op: string, name: string, shape: number[], dtype: DType, layout: Layout): Tensor {
  return new Tensor(allocate(op, name, dtype, checkedCount(op, name, shape, dtype)), shape, layout);
}

/**
 * A forward's output: options.out when given (it must have exactly the output's shape, dtype and
 * layout, and share no memory with an input; the addon re-checks that), else a new tensor.
 * Writing into the same array call after call keeps it in cache and spares the allocation.
 */
export function forwardOutput(
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
    const overlaps =
      input && input.buffer === data.buffer && input.byteOffset < data.byteOffset + data.byteLength && data.byteOffset < input.byteOffset + input.byteLength;
    if (overlaps) throw new ConvkitError('ERR_ARG', `${op}: options.out must not share memory with ${name}`);
  }
  return out instanceof Tensor ? out : new Tensor(data, shape, layout);
}

/** Ops that always allocate their results refuse options.out rather than ignore it. */
export function refuseOut(op: string, options: object): void {
  if (fieldOf(options, 'out') !== undefined) fail('ERR_ARG', op, 'options.out', 'absent (only forwards write into a given output)', 'a value');
}

/** What a bias may look like: its element count's name in messages, and whether [1, 1, 1, count] is accepted. */
export interface BiasRule {
  countName: string;
  accept4d: boolean;
}
export const CONV_BIAS: BiasRule = { countName: 'Cout', accept4d: true };
export const LINEAR_BIAS: BiasRule = { countName: 'out', accept4d: false };

/** The bias as a typed array of `count` elements, with the shape db will take; null without bias. */
export function checkBias(op: string, b: unknown, count: number, dtype: DType, rule: BiasRule): { data: FloatArray; shape: number[] } | null {
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

/** Throws ERR_CACHE if a cached array was detached (e.g. transferred to a worker) since the forward. */
export function checkCachedArray(op: string, name: string, data: { length: number }, expected: number): void {
  if (data.length !== expected) {
    throw new ConvkitError('ERR_CACHE', `${op}: the cache's ${name} now has ${data.length} elements instead of ${expected} (was its buffer detached?)`);
  }
}
