// Optimisers with PyTorch's update rules. Each step reads every parameter's `grad` (set by the
// last backward pass; a parameter without one is skipped) and updates the parameter in place.
import { callNative } from './binding';
import { ConvkitError, fail } from './errors';
import { encodeAdamParams } from './generated/boundary';
import { Parameter } from './nn/module';
import { checkOptions } from './shapes';
import { FloatArray } from './tensor';

export interface SGDOptions {
  lr: number;
  /** Default 0. */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient, default 0. */
  weightDecay?: number;
  /** Default false. */
  nesterov?: boolean;
}

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient, default 0. */
  weightDecay?: number;
}

function checkParameters(op: string, parameters: Iterable<Parameter>): Parameter[] {
  const list = parameters !== null && typeof parameters === 'object' && Symbol.iterator in parameters ? [...parameters] : null;
  if (list === null) return fail('ERR_ARG', op, 'parameters', 'an iterable of nn.Parameter (model.parameters())', parameters);
  list.forEach((parameter, index) => {
    if (!(parameter instanceof Parameter)) fail('ERR_ARG', op, `parameters[${index}]`, 'an nn.Parameter', parameter);
  });
  return list;
}

function checkNumber(op: string, name: string, value: unknown, fallback: number | undefined, min: number, maxExclusive = Infinity): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !(value >= min && value < maxExclusive)) {
    const range = maxExclusive === Infinity ? `>= ${min}` : `in [${min}, ${maxExclusive})`;
    fail('ERR_ARG', op, name, `a number ${range}`, value);
  }
  return value;
}

function zerosLike(data: FloatArray): FloatArray {
  return data instanceof Float64Array ? new Float64Array(data.length) : new Float32Array(data.length);
}

/** The gradient of a parameter, checked against it, or null when backward left none. */
function gradientOf(op: string, parameter: Parameter, index: number): FloatArray | null {
  const grad = parameter.grad;
  if (grad === null) return null;
  if (grad.data.length !== parameter.data.length || grad.dtype !== parameter.dtype) {
    throw new ConvkitError(
      'ERR_SHAPE',
      `${op}.step: parameters[${index}].grad must match its parameter (${parameter.data.length} ${parameter.dtype}), got ${grad.data.length} ${grad.dtype}`,
    );
  }
  return grad.data;
}

/**
 * Stochastic gradient descent, as torch.optim.SGD: g = grad + weightDecay * p; with momentum,
 * buf = g on the first step, then buf = momentum * buf + (1 - dampening) * g, and g = buf (or
 * g + momentum * buf with nesterov); p -= lr * g.
 */
export class SGD {
  readonly parameters: readonly Parameter[];
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private readonly buffers: (FloatArray | null)[];

  constructor(parameters: Iterable<Parameter>, options: SGDOptions) {
    const op = 'optim.SGD';
    this.parameters = checkParameters(op, parameters);
    const opts = checkOptions(op, options);
    this.lr = checkNumber(op, 'options.lr', opts.lr, undefined, 0);
    this.momentum = checkNumber(op, 'options.momentum', opts.momentum, 0, 0);
    this.dampening = checkNumber(op, 'options.dampening', opts.dampening, 0, 0);
    this.weightDecay = checkNumber(op, 'options.weightDecay', opts.weightDecay, 0, 0);
    if (opts.nesterov !== undefined && typeof opts.nesterov !== 'boolean') fail('ERR_ARG', op, 'options.nesterov', 'a boolean', opts.nesterov);
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && (this.momentum === 0 || this.dampening !== 0)) {
      throw new ConvkitError(
        'ERR_ARG',
        `${op}: options.nesterov needs momentum > 0 and dampening 0, got momentum ${this.momentum} and dampening ${this.dampening}`,
      );
    }
    this.buffers = this.parameters.map(() => null);
  }

  step(): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = this;
    this.parameters.forEach((parameter, index) => {
      const grad = gradientOf('optim.SGD', parameter, index);
      if (grad === null) return;
      const p = parameter.data;
      if (momentum === 0) {
        for (let i = 0; i < p.length; i++) p[i] -= lr * (grad[i] + weightDecay * p[i]);
        return;
      }
      let buffer = this.buffers[index];
      const first = buffer === null;
      if (buffer === null) buffer = this.buffers[index] = zerosLike(p);
      for (let i = 0; i < p.length; i++) {
        const g = grad[i] + weightDecay * p[i];
        const b = first ? g : momentum * buffer[i] + (1 - dampening) * g;
        buffer[i] = b;
        p[i] -= lr * (nesterov ? g + momentum * b : b);
      }
    });
  }
}

/**
 * Adam, as torch.optim.Adam: g = grad + weightDecay * p; m = b1 m + (1 - b1) g;
 * v = b2 v + (1 - b2) g^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 */
export class Adam {
  readonly parameters: readonly Parameter[];
  lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly moments: { m: FloatArray; v: FloatArray; steps: number }[];

  constructor(parameters: Iterable<Parameter>, options?: AdamOptions) {
    const op = 'optim.Adam';
    this.parameters = checkParameters(op, parameters);
    const opts = checkOptions(op, options);
    this.lr = checkNumber(op, 'options.lr', opts.lr, 1e-3, 0);
    const betas = opts.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) fail('ERR_ARG', op, 'options.betas', 'two numbers in [0, 1)', betas);
    this.betas = [checkNumber(op, 'options.betas[0]', betas[0], undefined, 0, 1), checkNumber(op, 'options.betas[1]', betas[1], undefined, 0, 1)];
    this.eps = checkNumber(op, 'options.eps', opts.eps, 1e-8, 0);
    this.weightDecay = checkNumber(op, 'options.weightDecay', opts.weightDecay, 0, 0);
    this.moments = this.parameters.map((parameter) => ({ m: zerosLike(parameter.data), v: zerosLike(parameter.data), steps: 0 }));
  }

  step(): void {
    const [beta1, beta2] = this.betas;
    const { lr, eps, weightDecay } = this;
    this.parameters.forEach((parameter, index) => {
      const grad = gradientOf('optim.Adam', parameter, index);
      if (grad === null) return;
      const state = this.moments[index];
      const steps = ++state.steps;
      const stepSize = lr / (1 - beta1 ** steps);
      const rootCorrection = Math.sqrt(1 - beta2 ** steps);
      // Natively, in double whatever the dtype: the same arithmetic as the formula above, element by element.
      const hyper = encodeAdamParams({ beta1, beta2, stepSize, rootCorrection, eps, weightDecay });
      callNative((binding) => binding.adam(parameter.data, grad, state.m, state.v, hyper));
    });
  }
}
