// Output arrays for the kernels, and the memory limit they are checked against.
//
// Every output is checked before it is allocated: against the process-wide memory limit (one
// buffer, default 2 GiB; the addon holds the same limit for its workspaces) and against what a
// typed array can hold, so that a one-element input with a huge padding gets ERR_TOO_LARGE
// instead of gigabytes. Every kernel writes each element of its outputs, so large outputs skip
// the engine's zero fill: for a memory-bound op (pooling, depthwise) zeroing a fresh array is
// one more full pass over the output. Outputs of 32 MiB or more, which malloc maps afresh each
// time and the OS faults in 4 KiB at a time, are first advised to use huge pages
// (native/runtime/large_pages.hpp).

import { constants as bufferConstants } from 'buffer';
import { callNative, native } from './binding';
import { ConvkitError, describe, fail } from './errors';

/** Below this many bytes a zeroed array is as cheap as any other. */
const UNINITIALIZED_MIN_BYTES = 1 << 16;
/** From this many bytes up, malloc maps each buffer afresh: those get huge pages. */
const LARGE_PAGES_MIN_BYTES = 32 * 1024 * 1024;
/** The longest typed array the JS engine creates (elements). */
const MAX_TYPED_ARRAY_LENGTH = 2 ** 32;
/** The default limit on one buffer, as the addon's (native/kernels/common.hpp). */
export const DEFAULT_MEMORY_LIMIT = 2 ** 31;

type ArrayConstructor = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor;

let poison = false;

/**
 * Sets the largest buffer, in bytes, that convkit allocates for one output or kernel workspace
 * (default 2 GiB). A call that would need more throws ERR_TOO_LARGE before allocating anything.
 */
export function setMemoryLimit(bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 1) fail('ERR_ARG', 'setMemoryLimit', 'bytes', 'an integer from 1 to 2^53 - 1', bytes);
  // The addon holds the one process-wide figure: a copy here would differ between
  // worker_threads, each of which has its own module state.
  callNative(() => native().setMemoryLimit(bytes));
}

/** The limit setMemoryLimit set, in bytes. */
export function getMemoryLimit(): number {
  return native().getMemoryLimit();
}

/** The limit outputs are checked against; the default where the addon is missing (tensor() works without it). */
function currentLimit(): number {
  try {
    return native().getMemoryLimit();
  } catch (error) {
    if (error instanceof ConvkitError && error.code === 'ERR_NATIVE_MISSING') return DEFAULT_MEMORY_LIMIT;
    throw error;
  }
}

/**
 * For tests: fill every output allocated from now on with NaN (float) or -1 (indices), so that
 * an element a kernel leaves unwritten shows up instead of passing as stale memory or zero.
 */
export function poisonNewOutputs(on: boolean): void {
  poison = on;
}

/** Throws ERR_TOO_LARGE unless `count` elements of `bytesPerElement` fit a typed array and the memory limit. */
export function checkOutputSize(op: string, name: string, count: number, bytesPerElement: number): void {
  if (!Number.isSafeInteger(count) || count < 0 || count > MAX_TYPED_ARRAY_LENGTH) {
    throw new ConvkitError('ERR_TOO_LARGE', `${op}: ${name} would have ${describe(count)} elements, more than the 2^32 a typed array holds`);
  }
  const bytes = count * bytesPerElement;
  const memoryLimit = currentLimit();
  if (bytes > memoryLimit) {
    throw new ConvkitError(
      'ERR_TOO_LARGE',
      `${op}: ${name} would need ${bytes} bytes (${count} elements), more than the memory limit of ${memoryLimit} bytes (convkit.setMemoryLimit)`,
    );
  }
}

/**
 * A new array of `count` elements whose contents the caller overwrites entirely, checked first
 * (checkOutputSize); a failed allocation is ERR_ALLOC. `op` and `name` are for messages.
 */
export function allocateOutput<A extends ArrayConstructor>(op: string, name: string, ArrayType: A, count: number): InstanceType<A> {
  checkOutputSize(op, name, count, ArrayType.BYTES_PER_ELEMENT);
  try {
    return outputArray(ArrayType, count);
  } catch (error) {
    const type = ArrayType === Int32Array ? 'int32' : ArrayType === Float64Array ? 'float64' : 'float32';
    throw new ConvkitError('ERR_ALLOC', `${op}: could not allocate ${name} (${count} ${type} elements): ${(error as Error).message}`, { cause: error });
  }
}

/** A new array of `count` elements whose contents the caller overwrites entirely (unchecked: see allocateOutput). */
export function outputArray<A extends ArrayConstructor>(ArrayType: A, count: number): InstanceType<A> {
  const bytes = count * ArrayType.BYTES_PER_ELEMENT;
  let array: InstanceType<A>;
  if (bytes < UNINITIALIZED_MIN_BYTES || bytes > bufferConstants.MAX_LENGTH) {
    // Past Buffer's own ceiling (4 GiB in Node 20) only a plain typed array can hold it.
    array = new ArrayType(count) as InstanceType<A>;
  } else {
    // allocUnsafeSlow: a buffer of its own (byteOffset 0, so aligned for float64) without zeroing.
    const buffer = Buffer.allocUnsafeSlow(bytes).buffer;
    if (bytes >= LARGE_PAGES_MIN_BYTES) callNative((binding) => binding.adviseLargePages(buffer));
    array = new ArrayType(buffer, 0, count) as InstanceType<A>;
  }
  if (poison) array.fill(ArrayType === Int32Array ? -1 : NaN);
  return array;
}
