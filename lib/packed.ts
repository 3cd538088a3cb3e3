// Convolution weights packed once for the native GEMM and reused by every forward that gets them.
import { ConvkitError } from './errors';
import type { DType, FloatArray, Layout, Tensor } from './tensor';

/**
 * Conv2d weights packed for the forward, made by `packConv2dWeights`. Pass it as `w` to `conv2d`
 * or `conv2dForward` (sync or async), for any input size, stride, padding or dilation: the
 * layer then skips repacking its weights on every call, which matters for small batches.
 *
 * It is a snapshot: it holds its own copy of the weights, so later writes to the original array
 * do not reach it (pack again after an optimiser step). `dispose()` drops its memory at once;
 * using it afterwards throws ERR_ARG.
 */
export class PackedConv2dWeights {
  #weights: Tensor | null;
  #packed: FloatArray | null;
  readonly shape: readonly number[];
  readonly layout: Layout;
  readonly dtype: DType;
  /** The groups the weights were packed for: a forward must use the same. */
  readonly groups: number;

  /** @internal Use packConv2dWeights. */
  constructor(weights: Tensor, packed: FloatArray | null, groups: number) {
    this.#weights = weights;
    this.#packed = packed;
    this.shape = Object.freeze(weights.shape.slice());
    this.layout = weights.layout;
    this.dtype = weights.dtype;
    this.groups = groups;
  }

  /** Bytes held: the weights' copy and their packed form (0 once disposed). */
  get byteLength(): number {
    return (this.#weights?.data.byteLength ?? 0) + (this.#packed?.byteLength ?? 0);
  }

  get disposed(): boolean {
    return this.#weights === null;
  }

  /** Drops both arrays now instead of at garbage collection. Idempotent. */
  dispose(): void {
    this.#weights = null;
    this.#packed = null;
  }

  /** @internal The weights and their packed form (null: nothing to pack for this shape), for a forward in `op`. */
  parts(op: string): { weights: Tensor; packed: FloatArray | null } {
    if (this.#weights === null) throw new ConvkitError('ERR_ARG', `${op}: w is a PackedConv2dWeights that was disposed`);
    return { weights: this.#weights, packed: this.#packed };
  }
}
