// Linear layers, y = x w^T + b, as strided GEMMs: x [M, in] (M = every leading dimension of x
// together), w [out, in] as in PyTorch. The gradients are GEMMs too, with transposed strides.
import { LinearCache } from '../caches';
import { ConvkitError, describe, fail } from '../errors';
import { encodeGemmParams } from '../generated/boundary';
import { checkGradient, checkSameDType, checkTensor, dtypeOf, resolveLayout } from '../shapes';
import { Tensor, TensorLike } from '../tensor';
import { KernelCall, Plan, runSync } from './run';
import { allocate, BackwardOptions, BiasLike, checkBias, checkCachedArray, LINEAR_BIAS, output, ParameterGradients, wantsInputGradient } from './shared';

export interface LinearForwardResult {
  output: Tensor;
  cache: LinearCache;
}

export interface LinearGradients {
  dx: Tensor;
  dw: Tensor;
  db: Tensor | null;
}

/** A one-element 1 for each dtype: with zero strides it is the all-ones row that sums dOut's rows into db. */
const ONE = { float32: new Float32Array([1]), float64: new Float64Array([1]) };

function planLinearForward(
  op: string,
  x: TensorLike,
  w: TensorLike,
  b: BiasLike | undefined,
  keepCache: boolean,
): Plan<{ output: Tensor; cache: LinearCache | null }> {
  const input = checkTensor(op, 'x', x, '[..., in]', 'any');
  const dtype = dtypeOf(input.data);
  const weights = checkTensor(op, 'w', w, '[out, in]', 2);
  checkSameDType(op, 'w', weights.data, dtype, 'x');
  const [outFeatures, inFeatures] = weights.shape;
  const xShape = input.shape.slice();
  if (xShape[xShape.length - 1] !== inFeatures) {
    throw new ConvkitError(
      'ERR_SHAPE',
      `${op}: the last dimension of x [..., in] must be in = ${inFeatures} (w [out, in] has shape ${describe(weights.shape)}), got x shape ${describe(xShape)}`,
    );
  }
  const bias = checkBias(op, b, outFeatures, dtype, LINEAR_BIAS);
  const layout = resolveLayout(op, undefined, ['x', x]);
  const y = output(op, 'output', [...xShape.slice(0, -1), outFeatures], dtype, layout);
  const rows = input.data.length / inFeatures;
  const cache = keepCache
    ? new LinearCache(new Tensor(input.data, xShape, layout), new Tensor(weights.data, weights.shape.slice(), layout), bias && bias.shape, y.shape.slice())
    : null;
  // y = x w^T: B(k, j) = w[j, k].
  const params = encodeGemmParams({
    m: rows,
    n: outFeatures,
    k: inFeatures,
    aRowStride: inFeatures,
    aColStride: 1,
    bRowStride: 1,
    bColStride: inFeatures,
    accumulate: false,
  });
  return { calls: [['gemm', [input.data, weights.data, bias && bias.data, y.data, params]]], result: { output: y, cache } };
}

export function planLinear(x: TensorLike, w: TensorLike, b?: BiasLike): Plan<Tensor> {
  const { calls, result } = planLinearForward('linear', x, w, b, false);
  return { calls, result: result.output };
}

export function planLinearForwardWithCache(x: TensorLike, w: TensorLike, b?: BiasLike): Plan<LinearForwardResult> {
  return planLinearForward('linearForward', x, w, b, true) as Plan<LinearForwardResult>;
}

export function planLinearBackward(dOut: TensorLike, cache: LinearCache, options?: BackwardOptions): Plan<ParameterGradients> {
  const op = 'linearBackward';
  if (!(cache instanceof LinearCache)) fail('ERR_CACHE', op, 'cache', 'the LinearCache of a linearForward', cache);
  const withInput = wantsInputGradient(op, options);
  const { x, w, dtype } = cache;
  const dy = checkGradient(op, dOut, null, dtype, cache.outputShape, '[..., out]', 'the forward input');
  const [outFeatures, inFeatures] = w.shape;
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  checkCachedArray(op, 'x', x.data, rows * inFeatures);
  checkCachedArray(op, 'w', w.data, outFeatures * inFeatures);
  const dx = withInput ? new Tensor(allocate(op, 'dx', dtype, x.data.length), x.shape.slice(), x.layout) : null;
  const dw = new Tensor(allocate(op, 'dw', dtype, w.data.length), w.shape.slice(), w.layout);
  const db = cache.biasShape && new Tensor(allocate(op, 'db', dtype, outFeatures), cache.biasShape.slice(), x.layout);
  // dw = dOut^T x: A(i, k) = dOut[k, i].
  const dwParams = encodeGemmParams({
    m: outFeatures,
    n: inFeatures,
    k: rows,
    aRowStride: 1,
    aColStride: outFeatures,
    bRowStride: inFeatures,
    bColStride: 1,
    accumulate: false,
  });
  const calls: KernelCall[] = [['gemm', [dy.data, x.data, null, dw.data, dwParams]]];
  if (dx) {
    // dx = dOut w
    const dxParams = encodeGemmParams({
      m: rows,
      n: inFeatures,
      k: outFeatures,
      aRowStride: outFeatures,
      aColStride: 1,
      bRowStride: inFeatures,
      bColStride: 1,
      accumulate: false,
    });
    calls.unshift(['gemm', [dy.data, w.data, null, dx.data, dxParams]]);
  }
  if (db) {
    // db = ones[1, rows] dOut
    const dbParams = encodeGemmParams({
      m: 1,
      n: outFeatures,
      k: rows,
      aRowStride: 0,
      aColStride: 0,
      bRowStride: outFeatures,
      bColStride: 1,
      accumulate: false,
    });
    calls.push(['gemm', [ONE[dtype], dy.data, null, db.data, dbParams]]);
  }
  return { calls, result: { dx, dw, db } };
}

/** A fully connected layer, y = x w^T + b (PyTorch's layout): x [..., in], w [out, in], b [out] or null. */
export function linear(x: TensorLike, w: TensorLike, b?: BiasLike): Tensor {
  return runSync(planLinear(x, w, b));
}

/** linear that also returns the cache linearBackward needs. */
export function linearForward(x: TensorLike, w: TensorLike, b?: BiasLike): LinearForwardResult {
  return runSync(planLinearForwardWithCache(x, w, b));
}

/** Gradients of a linear layer with respect to x, w and b, given the gradient of its output. */
export function linearBackward(dOut: TensorLike, cache: LinearCache, options?: BackwardOptions & { inputGradient?: true }): LinearGradients;
export function linearBackward(dOut: TensorLike, cache: LinearCache, options?: BackwardOptions): ParameterGradients;
export function linearBackward(dOut: TensorLike, cache: LinearCache, options?: BackwardOptions): ParameterGradients {
  return runSync(planLinearBackward(dOut, cache, options));
}
