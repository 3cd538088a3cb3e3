// The layers: thin stateful wrappers over the ops, which do the heavy work natively.
import type { Conv2dCache, LinearCache, Pool2dCache } from '../caches';
import { ConvkitError, describe, fail } from '../errors';
import { avgPool2d, conv2d, conv2dBackward, conv2dForward, linear, linearBackward, linearForward, maxPool2d, pool2dBackward, pool2dForward } from '../ops';
import type { ParameterGradients } from '../ops';
import { checkOptions, checkTensor, Conv2dOptions, dtypeOf, pair, Pair, Pool2dOptions, PoolMode } from '../shapes';
import { allocateOutput } from '../alloc';
import { callNative } from '../binding';
import { checkLayout, FloatArray, Layout, Tensor, TensorLike } from '../tensor';
import { checkCount, checkDType, checkGenerator, Module, Parameter, ParameterOptions, takeCache, uniformArray } from './module';

export interface Conv2dLayerOptions extends Conv2dOptions, ParameterOptions {
  /** Default true. */
  bias?: boolean;
}

export interface LinearLayerOptions extends ParameterOptions {
  /** Default true. */
  bias?: boolean;
}

export type Pool2dLayerOptions = Omit<Pool2dOptions, 'kernelSize'>;

function checkBiasFlag(op: string, bias: unknown): boolean {
  if (bias === undefined) return true;
  if (typeof bias !== 'boolean') fail('ERR_ARG', op, 'options.bias', 'a boolean', bias);
  return bias;
}

function layoutOf(op: string, layout: unknown): Layout {
  return layout === undefined ? 'NHWC' : checkLayout(op, layout);
}

/** The layout an activation carries, NHWC for a plain { data, shape }. */
function carriedLayout(x: TensorLike): Layout {
  return x.layout ?? 'NHWC';
}

/** Conv2d and Linear: a weight, an optional bias, and the cache their forward keeps for backward. */
abstract class WeightedLayer<C> extends Module {
  abstract readonly weight: Parameter;
  abstract readonly bias: Parameter | null;
  protected cache: C | null = null;

  constructor(private readonly layerName: string) {
    super();
  }

  /** The op's gradients from dOut and the cache, dx only when inputGradient. */
  protected abstract gradients(dOut: TensorLike, cache: C, inputGradient: boolean): ParameterGradients;

  backward(dOut: TensorLike): Tensor {
    return this.runBackward(dOut, true) as Tensor;
  }

  override backwardParameters(dOut: TensorLike): void {
    this.runBackward(dOut, false);
  }

  private runBackward(dOut: TensorLike, inputGradient: boolean): Tensor | null {
    const cache = takeCache(this.layerName, this.cache);
    this.cache = null;
    const { dx, dw, db } = this.gradients(dOut, cache, inputGradient);
    this.weight.grad = dw;
    if (this.bias) this.bias.grad = db;
    return dx;
  }

  override namedParameters(): [string, Parameter][] {
    return this.bias
      ? [
          ['weight', this.weight],
          ['bias', this.bias],
        ]
      : [['weight', this.weight]];
  }
}

/**
 * 2-D convolution with weights in the layout's order (HWIO for NHWC, OIHW for NCHW). Initialised
 * as PyTorch does: kaiming_uniform(a = sqrt(5)), i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)), and the bias likewise.
 */
export class Conv2d extends WeightedLayer<Conv2dCache> {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private readonly convOptions: Conv2dOptions;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    options?: Conv2dLayerOptions,
  ) {
    super('Conv2d');
    const op = 'nn.Conv2d';
    const opts = checkOptions(op, options);
    checkCount(op, 'inChannels', inChannels);
    checkCount(op, 'outChannels', outChannels);
    const [kh, kw] = pair(op, 'kernelSize', kernelSize, 1, 1);
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      fail('ERR_ARG', op, 'options.groups', `a positive integer dividing inChannels (${inChannels}) and outChannels (${outChannels})`, groups);
    }
    const layout = layoutOf(op, opts.layout);
    const dtype = checkDType(op, opts.dtype);
    const generator = checkGenerator(op, opts.generator);
    const withBias = checkBiasFlag(op, opts.bias);

    const cinPerGroup = inChannels / groups;
    const bound = 1 / Math.sqrt(cinPerGroup * kh * kw);
    // Drawn in PyTorch's OIHW order, so that one seed gives the same filters in both layouts.
    const oihw = uniformArray(op, dtype, outChannels * cinPerGroup * kh * kw, bound, generator);
    this.weight =
      layout === 'NCHW'
        ? new Parameter(oihw, [outChannels, cinPerGroup, kh, kw], layout)
        : new Parameter(oihwToHwio(oihw, outChannels, cinPerGroup, kh, kw), [kh, kw, cinPerGroup, outChannels], layout);
    this.bias = withBias ? new Parameter(uniformArray(op, dtype, outChannels, bound, generator), [outChannels], layout) : null;
    this.convOptions = { layout, stride: opts.stride, padding: opts.padding, dilation: opts.dilation, groups };
  }

  override get layout(): Layout {
    return this.convOptions.layout as Layout;
  }

  forward(x: TensorLike): Tensor {
    if (!this.training) return conv2d(x, this.weight, this.bias, this.convOptions);
    const { output, cache } = conv2dForward(x, this.weight, this.bias, this.convOptions);
    this.cache = cache;
    return output;
  }

  protected gradients(dOut: TensorLike, cache: Conv2dCache, inputGradient: boolean): ParameterGradients {
    return conv2dBackward(dOut, cache, { inputGradient });
  }
}

function oihwToHwio(oihw: FloatArray, cout: number, cin: number, kh: number, kw: number): FloatArray {
  const hwio = new (oihw.constructor as typeof Float32Array | typeof Float64Array)(oihw.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) hwio[((y * kw + x) * cin + i) * cout + o] = oihw[((o * cin + i) * kh + y) * kw + x];
  return hwio;
}

abstract class Pool2d extends Module {
  private readonly poolOptions: Pool2dOptions & { mode: PoolMode };
  private cache: Pool2dCache | null = null;

  constructor(
    private readonly mode: PoolMode,
    kernelSize: Pair,
    options: Pool2dLayerOptions | undefined,
  ) {
    super();
    const op = mode === 'max' ? 'nn.MaxPool2d' : 'nn.AvgPool2d';
    const opts = checkOptions(op, options);
    this.poolOptions = { ...opts, kernelSize, layout: layoutOf(op, opts.layout), mode };
  }

  override get layout(): Layout {
    return this.poolOptions.layout as Layout;
  }

  forward(x: TensorLike): Tensor {
    if (!this.training) return (this.mode === 'max' ? maxPool2d : avgPool2d)(x, this.poolOptions);
    const { output, cache } = pool2dForward(x, this.poolOptions);
    this.cache = cache;
    return output;
  }

  backward(dOut: TensorLike): Tensor {
    const cache = takeCache(this.mode === 'max' ? 'MaxPool2d' : 'AvgPool2d', this.cache);
    this.cache = null;
    return pool2dBackward(dOut, cache);
  }
}

export class MaxPool2d extends Pool2d {
  constructor(kernelSize: Pair, options?: Pool2dLayerOptions) {
    super('max', kernelSize, options);
  }
}

export class AvgPool2d extends Pool2d {
  constructor(kernelSize: Pair, options?: Pool2dLayerOptions) {
    super('avg', kernelSize, options);
  }
}

/** y = x w^T + b with w [out, in] (PyTorch's layout), initialised U(-1/sqrt(in), 1/sqrt(in)) as PyTorch does. */
export class Linear extends WeightedLayer<LinearCache> {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options?: LinearLayerOptions,
  ) {
    super('Linear');
    const op = 'nn.Linear';
    const opts = checkOptions(op, options);
    checkCount(op, 'inFeatures', inFeatures);
    checkCount(op, 'outFeatures', outFeatures);
    const dtype = checkDType(op, opts.dtype);
    const generator = checkGenerator(op, opts.generator);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter(uniformArray(op, dtype, outFeatures * inFeatures, bound, generator), [outFeatures, inFeatures]);
    this.bias = checkBiasFlag(op, opts.bias) ? new Parameter(uniformArray(op, dtype, outFeatures, bound, generator), [outFeatures]) : null;
  }

  forward(x: TensorLike): Tensor {
    if (!this.training) return linear(x, this.weight, this.bias);
    const { output, cache } = linearForward(x, this.weight, this.bias);
    this.cache = cache;
    return output;
  }

  protected gradients(dOut: TensorLike, cache: LinearCache, inputGradient: boolean): ParameterGradients {
    return linearBackward(dOut, cache, { inputGradient });
  }
}

export interface ReLUOptions {
  /**
   * Default false. When true, forward writes its result over x and backward writes dx over dOut,
   * which saves two allocations per call; use it where nothing else reads x or dOut afterwards
   * (between layers of a Sequential, say).
   */
  inplace?: boolean;
}

/** max(x, 0), element-wise (natively), in any layout; the gradient at 0 is 0, as in PyTorch. */
export class ReLU extends Module {
  readonly inplace: boolean;
  private output: Tensor | null = null;

  constructor(options?: ReLUOptions) {
    super();
    const inplace = checkOptions('nn.ReLU', options).inplace ?? false;
    if (typeof inplace !== 'boolean') fail('ERR_ARG', 'nn.ReLU', 'options.inplace', 'a boolean', inplace);
    this.inplace = inplace;
  }

  forward(x: TensorLike): Tensor {
    const input = checkTensor('nn.ReLU', 'x', x, '[...]', 'any');
    const source = input.data;
    const result = this.inplace ? source : newLike('nn.ReLU', 'output', source);
    callNative((binding) => binding.relu(source, result));
    const output = new Tensor(result, input.shape.slice(), carriedLayout(input));
    this.output = this.training ? output : null;
    return output;
  }

  backward(dOut: TensorLike): Tensor {
    const output = takeCache('ReLU', this.output);
    this.output = null;
    const gradient = checkSameSize('nn.ReLU.backward', dOut, output).data;
    const kept = output.data;
    const dx = this.inplace ? gradient : newLike('nn.ReLU.backward', 'dx', gradient);
    callNative((binding) => binding.reluBackward(kept, gradient, dx));
    return new Tensor(dx, output.shape.slice(), output.layout);
  }
}

/**
 * [N, ...] -> [N, features] without copying: the features come in the memory order of the input's
 * layout (C, H, W for NCHW; H, W, C for NHWC), so a Linear after it must be trained in that layout.
 */
export class Flatten extends Module {
  private input: { shape: number[]; layout: Layout } | null = null;

  forward(x: TensorLike): Tensor {
    const input = checkTensor('nn.Flatten', 'x', x, '[N, ...]', 'any');
    const shape = input.shape.slice();
    const layout = carriedLayout(input);
    this.input = this.training ? { shape, layout } : null;
    return new Tensor(input.data, [shape[0], input.data.length / shape[0]], layout);
  }

  backward(dOut: TensorLike): Tensor {
    const { shape, layout } = takeCache('Flatten', this.input);
    this.input = null;
    const gradient = checkTensor('nn.Flatten.backward', 'dOut', dOut, '[N, features]', 2);
    if (gradient.data.length !== shape.reduce((a, b) => a * b, 1) || gradient.shape[0] !== shape[0]) {
      fail('ERR_SHAPE', 'nn.Flatten.backward', 'dOut', `of shape [${shape[0]}, ${gradient.data.length / shape[0]}] (the forward output)`, gradient.shape);
    }
    return new Tensor(gradient.data, shape, layout);
  }
}

/** Runs its modules in order; backward runs them in reverse. */
export class Sequential extends Module {
  readonly modules: readonly Module[];

  constructor(...modules: Module[]) {
    super();
    modules.forEach((module, index) => {
      if (!(module instanceof Module)) fail('ERR_ARG', 'nn.Sequential', `module ${index}`, 'an nn.Module', module);
    });
    const layouts = new Set(modules.map((module) => module.layout).filter((layout) => layout !== null));
    if (layouts.size > 1) throw new ConvkitError('ERR_ARG', `nn.Sequential: the modules must share one layout, got ${describe([...layouts])}`);
    this.modules = modules;
  }

  override get layout(): Layout | null {
    for (const module of this.modules) if (module.layout !== null) return module.layout;
    return null;
  }

  forward(x: TensorLike): Tensor {
    let activation = x;
    for (const module of this.modules) activation = module.forward(activation);
    return activation as Tensor;
  }

  backward(dOut: TensorLike): Tensor {
    let gradient = dOut;
    for (let i = this.modules.length - 1; i >= 0; i--) gradient = this.modules[i].backward(gradient);
    return gradient as Tensor;
  }

  override backwardParameters(dOut: TensorLike): void {
    let gradient = dOut;
    for (let i = this.modules.length - 1; i >= 1; i--) gradient = this.modules[i].backward(gradient);
    if (this.modules.length > 0) this.modules[0].backwardParameters(gradient);
  }

  override namedParameters(): [string, Parameter][] {
    return this.modules.flatMap((module, index) => module.namedParameters().map(([name, p]): [string, Parameter] => [`${index}.${name}`, p]));
  }

  override train(mode = true): this {
    for (const module of this.modules) module.train(mode);
    return super.train(mode);
  }
}

/** An output the size of `data` (the kernel writes all of it), checked against the memory limit. */
function newLike(op: string, name: string, data: FloatArray): FloatArray {
  return allocateOutput(op, name, data instanceof Float64Array ? Float64Array : Float32Array, data.length);
}

/** dOut must have the forward output's shape and dtype. */
function checkSameSize(op: string, dOut: TensorLike, output: Tensor): TensorLike {
  const gradient = checkTensor(op, 'dOut', dOut, '[...]', 'any');
  if (
    gradient.data.length !== output.data.length ||
    gradient.shape.length !== output.shape.length ||
    gradient.shape.some((size, i) => size !== output.shape[i])
  ) {
    fail('ERR_SHAPE', op, 'dOut', `of the forward output's shape ${describe(output.shape)}`, gradient.shape);
  }
  if (dtypeOf(gradient.data) !== output.dtype) fail('ERR_DTYPE', op, 'dOut', `${output.dtype} like the forward output`, dtypeOf(gradient.data));
  return gradient;
}
