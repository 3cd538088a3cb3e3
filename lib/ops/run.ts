// How an op runs: every op is a plan function that validates its arguments, allocates its
// outputs and lists the native kernel calls to make; runSync runs a plan with the blocking
// kernels and runAsync (the async API, async.ts) with their libuv twins. Validation therefore
// exists once, in the plan.
import { KernelName, native, NativeBinding } from '../binding';
import { ConvkitError, fromNative } from '../errors';

export type KernelCall = [KernelName, unknown[]];

/** Validated, allocated work: the kernel calls to make, then the value to return. */
export interface Plan<R> {
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

export function runSync<R>(plan: Plan<R>): R {
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

export async function runAsync<R>(plan: () => Plan<R>): Promise<R> {
  // Inside an async function, a validation error becomes a rejection.
  const { calls, result } = plan();
  const binding: NativeBinding = native();
  const outputs = calls.flatMap(([name, args]) =>
    OUTPUT_ARGS[name].map((i) => args[i]).filter((a): a is ArrayBufferView => ArrayBuffer.isView(a) && a.byteLength > 0),
  );
  try {
    await Promise.all(calls.map(([name, args]) => (binding[ASYNC_NAME[name]] as AnyKernel)(...args)));
  } catch (error) {
    throw fromNative(error);
  }
  // The addon pins the memory, so the kernel wrote safely, but into whoever received a buffer the
  // caller transferred meanwhile: the result is not here to return.
  if (outputs.some((a) => a.byteLength === 0))
    throw new ConvkitError(
      'ERR_ARG',
      'an output buffer (options.out or a result array) was detached or transferred while the async call ran; its result went with it',
    );
  return result;
}
