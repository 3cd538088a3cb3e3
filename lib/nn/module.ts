// The layer protocol: forward(x) keeps what backward needs (in training mode), backward(dOut)
// sets the gradients of the layer's parameters and returns the gradient of its input.
import { allocateOutput } from '../alloc';
import { ConvkitError, fail } from '../errors';
import { DType, FloatArray, Layout, Tensor, TensorLike } from '../tensor';
import { defaultGenerator, Generator } from './random';

/** A trainable tensor: its data is updated in place; `grad` is set by each backward pass (replaced, not accumulated). */
export class Parameter extends Tensor {
  grad: Tensor | null = null;
}

/** Options shared by every layer that has parameters. */
export interface ParameterOptions {
  /** Default 'float32'; inputs must have the same dtype. */
  dtype?: DType;
  /** Draws the initial values; default: the shared generator that `nn.manualSeed` restarts. */
  generator?: Generator;
}

export abstract class Module {
  /** In training mode forward keeps its cache for backward; in eval mode it keeps nothing. */
  training = true;

  abstract forward(x: TensorLike): Tensor;
  abstract backward(dOut: TensorLike): Tensor;

  /**
   * backward without the gradient with respect to the input: fills the parameter gradients
   * only, which saves a layer's worth of work where nothing reads that gradient (the first
   * layer of a network; PyTorch skips it too). Layers with nothing to save run backward.
   */
  backwardParameters(dOut: TensorLike): void {
    this.backward(dOut);
  }

  /** Parameters by name ('weight', 'bias'; '0.weight', ... in a Sequential, as PyTorch's state_dict names them). */
  namedParameters(): [string, Parameter][] {
    return [];
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, parameter]) => parameter);
  }

  /** The activation layout the module works in, or null if it has none (ReLU, Linear, ...). */
  get layout(): Layout | null {
    return null;
  }

  train(mode = true): this {
    this.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }
}

/** The cache a backward pass consumes, or an ERR_CACHE saying why there is none. */
export function takeCache<C>(layer: string, cache: C | null): C {
  if (cache === null) {
    throw new ConvkitError('ERR_CACHE', `${layer}.backward: no forward pass to differentiate (call forward in training mode, once per backward)`);
  }
  return cache;
}

export function checkCount(op: string, name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1) fail('ERR_ARG', op, name, 'a positive integer', value);
  return value as number;
}

export function checkDType(op: string, dtype: unknown): DType {
  if (dtype === undefined) return 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') fail('ERR_ARG', op, 'options.dtype', "'float32' or 'float64'", dtype);
  return dtype;
}

export function checkGenerator(op: string, generator: unknown): Generator {
  if (generator === undefined) return defaultGenerator;
  if (!(generator instanceof Generator)) fail('ERR_ARG', op, 'options.generator', 'an nn.Generator', generator);
  return generator;
}

/** `count` values uniform in [-bound, bound), in draw order; `op` names the layer in a size error. */
export function uniformArray(op: string, dtype: DType, count: number, bound: number, generator: Generator): FloatArray {
  const data = allocateOutput(op, 'the parameters', dtype === 'float64' ? Float64Array : Float32Array, count);
  for (let i = 0; i < count; i++) data[i] = generator.uniform(-bound, bound);
  return data;
}
