// The Tensor type and the tensor() factory. A Tensor is a view: it never owns a copy of a typed
// array it was given when the dtype already matches.
import { ConvkitError, describe, fail } from './errors';
import { allocateOutput } from './alloc';
import { ownOptions } from './own';

export type Layout = 'NHWC' | 'NCHW';
export type DType = 'float32' | 'float64';
export type FloatArray = Float32Array | Float64Array;

/** Anything an op accepts as a tensor: a Tensor, or a plain `{ data, shape }` object (its layout then comes from the op's options). */
export interface TensorLike {
  readonly data: FloatArray;
  readonly shape: readonly number[];
  readonly layout?: Layout;
}

export interface TensorOptions {
  layout?: Layout;
  dtype?: DType;
}

export class Tensor implements TensorLike {
  readonly dtype: DType;

  /** No validation: use tensor() to build one from user data. */
  constructor(
    readonly data: FloatArray,
    readonly shape: readonly number[],
    readonly layout: Layout = 'NHWC',
  ) {
    this.dtype = data instanceof Float64Array ? 'float64' : 'float32';
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The element at a full row-major index, e.g. `t.get(n, h, w, c)` for an NHWC tensor. */
  get(...index: number[]): number {
    if (index.length !== this.shape.length) {
      fail('ERR_ARG', 'Tensor.get', 'index', `${this.shape.length} integers for shape ${describe(this.shape)}`, index);
    }
    let flat = 0;
    for (let axis = 0; axis < index.length; axis++) {
      const i = index[axis];
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[axis]) {
        fail('ERR_ARG', 'Tensor.get', `index[${axis}]`, `an integer in [0, ${this.shape[axis]})`, i);
      }
      flat = flat * this.shape[axis] + i;
    }
    return this.data[flat];
  }

  /** The values as nested arrays in the tensor's shape. */
  toArray(): NestedArray {
    return nest(this.data, this.shape, 0, 0) as NestedArray;
  }
}

export type NestedArray = number[] | NestedArray[];

function nest(data: FloatArray, shape: readonly number[], axis: number, offset: number): number[] | NestedArray[] {
  if (shape.length === 0) return [data[0]];
  if (axis === shape.length - 1) return Array.from(data.subarray(offset, offset + shape[axis]));
  let stride = 1;
  for (let a = axis + 1; a < shape.length; a++) stride *= shape[a];
  const out: NestedArray[] = [];
  for (let i = 0; i < shape[axis]; i++) out.push(nest(data, shape, axis + 1, offset + i * stride) as NestedArray);
  return out;
}

const LAYOUTS: readonly string[] = ['NHWC', 'NCHW'];
const DTYPES: readonly string[] = ['float32', 'float64'];

export function checkLayout(op: string, layout: unknown): Layout {
  if (!LAYOUTS.includes(layout as string)) fail('ERR_ARG', op, 'layout', "'NHWC' or 'NCHW'", layout);
  return layout as Layout;
}

/**
 * Builds a Tensor from a typed array, a flat number array with a shape, or nested arrays (shape
 * inferred). Numbers become float32 unless `options.dtype` says otherwise; a Float32Array or
 * Float64Array of the requested dtype is used as is, not copied.
 */
export function tensor(data: ArrayLike<number> | NestedArray | ArrayBufferView, shape?: readonly number[], options: TensorOptions = {}): Tensor {
  const op = 'tensor';
  if (options === null || typeof options !== 'object') fail('ERR_ARG', op, 'options', 'an object', options);
  const { layout: layoutOption, dtype } = ownOptions(options);
  const layout = layoutOption === undefined ? 'NHWC' : checkLayout(op, layoutOption);
  if (dtype !== undefined && !DTYPES.includes(dtype)) fail('ERR_ARG', op, 'options.dtype', "'float32' or 'float64'", dtype);

  let values: FloatArray;
  let inferred: number[];
  if (ArrayBuffer.isView(data)) {
    values = fromTypedArray(op, data, dtype);
    inferred = [values.length];
  } else if (Array.isArray(data)) {
    inferred = inferShape(data);
    // Checked first: a sparse array (new Array(2 ** 32 - 1)) must not buy gigabytes before failing.
    values = allocateOutput(op, 'data', dtype === 'float64' ? Float64Array : Float32Array, countOf(inferred));
    flattenInto(data, inferred, 0, values, 0);
  } else {
    return fail('ERR_ARG', op, 'data', 'a Float32Array, a Float64Array, a number array or nested number arrays', data);
  }

  if (shape === undefined) return new Tensor(values, inferred, layout);
  const checked = checkShape(op, 'shape', shape);
  const count = countOf(checked);
  if (count !== values.length) {
    throw new ConvkitError('ERR_SHAPE', `${op}: shape ${describe(checked)} needs ${count} elements, but data has ${values.length}`);
  }
  return new Tensor(values, checked, layout);
}

function fromTypedArray(op: string, data: ArrayBufferView, dtype: DType | undefined): FloatArray {
  if (data instanceof Float64Array && dtype !== 'float32') return data;
  if (data instanceof Float32Array && dtype !== 'float64') return data;
  if (data instanceof DataView || data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return fail('ERR_DTYPE', op, 'data', 'a numeric typed array', data);
  }
  // Another numeric typed array, or a float array of the other dtype: convert (a copy).
  const source = data as unknown as ArrayLike<number>;
  return dtype === 'float64' ? Float64Array.from(source) : Float32Array.from(source);
}

/** A copy of a shape: an array of non-negative integers. */
export function checkShape(op: string, name: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) return fail('ERR_SHAPE', op, name, 'an array of non-negative integers', shape);
  for (let axis = 0; axis < shape.length; axis++) {
    const size = shape[axis];
    if (!Number.isInteger(size) || size < 0) fail('ERR_SHAPE', op, `${name}[${axis}]`, 'a non-negative integer', size);
  }
  return shape.slice();
}

function countOf(shape: readonly number[]): number {
  let count = 1;
  for (const size of shape) count *= size;
  return count;
}

// The shape of nested arrays: every sub-array at one depth must have the same length.
function inferShape(data: unknown[]): number[] {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

function flattenInto(data: unknown, shape: number[], axis: number, out: FloatArray, offset: number): number {
  if (axis === shape.length) {
    if (Array.isArray(data))
      throw new ConvkitError(
        'ERR_SHAPE',
        `tensor: nested arrays are ragged: expected a number at depth ${axis} (shape ${describe(shape)}), got ${describe(data)}`,
      );
    if (typeof data !== 'number') fail('ERR_DTYPE', 'tensor', 'every element', 'a number', data);
    out[offset] = data as number;
    return offset + 1;
  }
  if (!Array.isArray(data) || data.length !== shape[axis]) {
    throw new ConvkitError(
      'ERR_SHAPE',
      `tensor: nested arrays are ragged: expected an array of ${shape[axis]} at depth ${axis} (shape ${describe(shape)}), got ${describe(data)}`,
    );
  }
  for (const item of data) offset = flattenInto(item, shape, axis + 1, out, offset);
  return offset;
}
