// Output arrays for the kernels. Every kernel writes each element of its outputs, so large
// outputs skip the engine's zero fill: for a memory-bound op (pooling, depthwise) zeroing a
// fresh array is one more full pass over the output. Outputs of 32 MiB or more, which malloc
// maps afresh each time and the OS faults in 4 KiB at a time, are first advised to use huge
// pages (native/runtime/large_pages.hpp).

import { callNative } from './binding';

/** Below this many bytes a zeroed array is as cheap as any other. */
const UNINITIALIZED_MIN_BYTES = 1 << 16;
/** From this many bytes up, malloc maps each buffer afresh: those get huge pages. */
const LARGE_PAGES_MIN_BYTES = 32 * 1024 * 1024;

type ArrayConstructor = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor;

let poison = false;

/**
 * For tests: fill every output allocated from now on with NaN (float) or -1 (indices), so that
 * an element a kernel leaves unwritten shows up instead of passing as stale memory or zero.
 */
export function poisonNewOutputs(on: boolean): void {
  poison = on;
}

/** A new array of `count` elements whose contents the caller overwrites entirely. */
export function outputArray<A extends ArrayConstructor>(ArrayType: A, count: number): InstanceType<A> {
  const bytes = count * ArrayType.BYTES_PER_ELEMENT;
  let array: InstanceType<A>;
  if (bytes < UNINITIALIZED_MIN_BYTES) {
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
