// Loads the native addon once, on first use, so that `tensor()` and the types work even before
// the addon is built, and so that a missing build gets an error saying how to build it.
import * as fs from 'fs';
import * as path from 'path';
import { ConvkitError, fromNative } from './errors';
import type { AdamParams, ConvParams, GemmParams, PadParams, PoolParams } from './generated/boundary';
import type { Conv2dPass, Conv2dPassPlan } from './ops/conv';
import type { Pool2dPass, Pool2dPassPlan } from './ops/pool';
import type { FloatArray } from './tensor';

/**
 * The functions of build/Release/convkit.node; all arrays are written in place. Each `params` is
 * a number array laid out by schema/boundary.json (encode*Params in generated/boundary.ts).
 */
export interface NativeBinding {
  /** packed: null or what conv2dPackWeights wrote for w. */
  conv2dForward(x: FloatArray, w: FloatArray, b: FloatArray | null, y: FloatArray, params: ConvParams, packed: FloatArray | null): void;
  /** Elements conv2dPackWeights needs for these weights (0: nothing to pack). */
  conv2dPackedWeightsLength(w: FloatArray, params: ConvParams): number;
  conv2dPackWeights(w: FloatArray, packed: FloatArray, params: ConvParams): void;
  /** The algorithm and threads of each pass for this shape, w's dtype, the active ISA and thread count. */
  conv2dPlan(w: FloatArray, params: ConvParams): Record<Conv2dPass, Conv2dPassPlan>;
  /** The algorithm, threads and scratch of each pass of this pool for x's dtype and the thread count. */
  pool2dPlan(x: FloatArray, params: PoolParams): Record<Pool2dPass, Pool2dPassPlan>;
  conv2dBackwardInput(dy: FloatArray, w: FloatArray, dx: FloatArray, params: ConvParams): void;
  conv2dBackwardFilter(dy: FloatArray, x: FloatArray, dw: FloatArray, db: FloatArray | null, params: ConvParams): void;
  pool2dForward(x: FloatArray, y: FloatArray, argmax: Int32Array | null, params: PoolParams): void;
  pool2dBackward(dy: FloatArray, argmax: Int32Array | null, dx: FloatArray, params: PoolParams): void;
  zeroPad(x: FloatArray, y: FloatArray, params: PadParams): void;
  /** C = A*B (+ bias per column) (+ C if accumulate). */
  gemm(a: FloatArray, b: FloatArray, bias: FloatArray | null, c: FloatArray, params: GemmParams): void;
  conv2dForwardAsync(x: FloatArray, w: FloatArray, b: FloatArray | null, y: FloatArray, params: ConvParams, packed: FloatArray | null): Promise<void>;
  conv2dBackwardInputAsync(dy: FloatArray, w: FloatArray, dx: FloatArray, params: ConvParams): Promise<void>;
  conv2dBackwardFilterAsync(dy: FloatArray, x: FloatArray, dw: FloatArray, db: FloatArray | null, params: ConvParams): Promise<void>;
  pool2dForwardAsync(x: FloatArray, y: FloatArray, argmax: Int32Array | null, params: PoolParams): Promise<void>;
  pool2dBackwardAsync(dy: FloatArray, argmax: Int32Array | null, dx: FloatArray, params: PoolParams): Promise<void>;
  zeroPadAsync(x: FloatArray, y: FloatArray, params: PadParams): Promise<void>;
  gemmAsync(a: FloatArray, b: FloatArray, bias: FloatArray | null, c: FloatArray, params: GemmParams): Promise<void>;
  /** Element-wise, sync only: y = max(x, 0); y may be x. */
  relu(x: FloatArray, y: FloatArray): void;
  /** dx = y > 0 ? dy : 0; dx may be dy. */
  reluBackward(y: FloatArray, dy: FloatArray, dx: FloatArray): void;
  /** One Adam update in place. */
  adam(p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, params: AdamParams): void;
  /** Asks the OS for huge pages behind a new, not yet written buffer (alloc.ts calls it from 32 MiB up). */
  adviseLargePages(buffer: ArrayBuffer): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** The limit on one native buffer (workspace or scratch), in bytes: an integer in [1, 2^53 - 1]. */
  setMemoryLimit(bytes: number): void;
  getMemoryLimit(): number;
  isa(): string;
  supportedIsas(): string[];
  buildInfo(): Record<string, unknown>;
}

/** The kernels that have a sync and an `Async` twin. */
export type KernelName = 'conv2dForward' | 'conv2dBackwardInput' | 'conv2dBackwardFilter' | 'pool2dForward' | 'pool2dBackward' | 'zeroPad' | 'gemm';

const KERNELS: readonly KernelName[] = ['conv2dForward', 'conv2dBackwardInput', 'conv2dBackwardFilter', 'pool2dForward', 'pool2dBackward', 'zeroPad', 'gemm'];
const UTILITIES = [
  'conv2dPackedWeightsLength',
  'conv2dPackWeights',
  'conv2dPlan',
  'pool2dPlan',
  'relu',
  'reluBackward',
  'adam',
  'adviseLargePages',
  'setNumThreads',
  'getNumThreads',
  'setMemoryLimit',
  'getMemoryLimit',
  'isa',
  'supportedIsas',
  'buildInfo',
] as const;

// dist/binding.js -> package root.
const PACKAGE_ROOT = path.resolve(__dirname, '..');
const CANDIDATES = ['build/Release/convkit.node', 'build/Debug/convkit.node'];
const HOW_TO_BUILD = 'run `npm run build:native` (node-gyp) or `npm run build:cmake` (cmake-js) in the convkit package';

let loaded: NativeBinding | undefined;

export function native(): NativeBinding {
  return loaded ?? (loaded = load());
}

function load(): NativeBinding {
  // CONVKIT_ADDON_PATH loads another build of the addon (the sanitizer build in CI).
  const override = process.env.CONVKIT_ADDON_PATH;
  const file = override
    ? path.resolve(override)
    : CANDIDATES.map((relative) => path.join(PACKAGE_ROOT, relative)).find((candidate) => fs.existsSync(candidate));
  if (file === undefined) {
    throw new ConvkitError(
      'ERR_NATIVE_MISSING',
      `convkit: the native addon is not built (looked for ${CANDIDATES.join(' and ')} under ${PACKAGE_ROOT}); ${HOW_TO_BUILD}`,
    );
  }
  let binding: Record<string, unknown>;
  try {
    binding = require(file) as Record<string, unknown>;
  } catch (error) {
    throw new ConvkitError('ERR_NATIVE_MISSING', `convkit: the native addon ${file} failed to load (${(error as Error).message}); ${HOW_TO_BUILD}`, {
      cause: error,
    });
  }
  const expected = [...KERNELS, ...KERNELS.map((name) => `${name}Async`), ...UTILITIES];
  const missing = expected.filter((name) => typeof binding[name] !== 'function');
  if (missing.length > 0) {
    throw new ConvkitError('ERR_NATIVE_MISSING', `convkit: the native addon ${file} lacks ${missing.join(', ')} (an outdated build?); ${HOW_TO_BUILD}`);
  }
  return binding as unknown as NativeBinding;
}

/** Calls a native function, turning what it throws into a ConvkitError. */
export function callNative<R>(call: (binding: NativeBinding) => R): R {
  const binding = native();
  try {
    return call(binding);
  } catch (error) {
    throw fromNative(error);
  }
}
