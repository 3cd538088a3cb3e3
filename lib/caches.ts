// Forward caches: what a backward pass needs, captured at forward time. They keep references to
// the forward's typed arrays (no copies) and private copies of every shape.
import type { ConvParams, PoolMode, PoolParams } from './shapes';
import type { DType, Layout, Tensor } from './tensor';

export class Conv2dCache {
  readonly kind = 'conv2d' as const;

  constructor(
    /** The forward input and weights. */
    readonly x: Tensor,
    readonly w: Tensor,
    /** The bias's shape ([Cout] or [1, 1, 1, Cout]), or null without bias: db gets this shape. */
    readonly biasShape: readonly number[] | null,
    /** The forward output's shape: dOut must have it. */
    readonly outputShape: readonly number[],
    /** The resolved geometry, as the native kernels read it. */
    readonly params: Readonly<ConvParams>,
  ) {}

  get layout(): Layout {
    return this.x.layout;
  }

  get dtype(): DType {
    return this.x.dtype;
  }
}

export class Pool2dCache {
  readonly kind = 'pool2d' as const;

  constructor(
    readonly mode: PoolMode,
    readonly layout: Layout,
    readonly dtype: DType,
    readonly inputShape: readonly number[],
    readonly outputShape: readonly number[],
    /** Max mode: per output element, the index ih * W + iw of the chosen input in its (n, c) plane. Null for avg. */
    readonly argmax: Int32Array | null,
    readonly params: Readonly<PoolParams>,
  ) {}
}

export class LinearCache {
  readonly kind = 'linear' as const;

  constructor(
    /** The forward input [..., in] and weights [out, in]. */
    readonly x: Tensor,
    readonly w: Tensor,
    /** The bias's shape ([out]), or null without bias: db gets this shape. */
    readonly biasShape: readonly number[] | null,
    /** The forward output's shape [..., out]: dOut must have it. */
    readonly outputShape: readonly number[],
  ) {}

  get dtype(): DType {
    return this.x.dtype;
  }
}
