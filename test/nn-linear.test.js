'use strict';
// The linear ops (the GEMM behind nn.Linear): values against a plain loop, gradients against
// finite differences, async against sync, and their errors.
const assert = require('assert');
const convkit = require('../dist');
const { TOLERANCE, rng, randomArray, assertAllClose, assertExactlyEqual, thrown, rejected, dot, numericGradient } = require('./helpers');

/** y[r, o] = sum_i x[r, i] w[o, i] + b[o], in float64. */
function referenceLinear(x, w, b, rows, inFeatures, outFeatures) {
  const y = new Float64Array(rows * outFeatures);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outFeatures; o++) {
      let sum = b ? b[o] : 0;
      for (let i = 0; i < inFeatures; i++) sum += x[r * inFeatures + i] * w[o * inFeatures + i];
      y[r * outFeatures + o] = sum;
    }
  return y;
}

function inputs(dtype, xShape, outFeatures, seed, withBias = true) {
  const Ctor = dtype === 'float64' ? Float64Array : Float32Array;
  const random = rng(seed);
  const inFeatures = xShape[xShape.length - 1];
  const rows = xShape.slice(0, -1).reduce((a, b) => a * b, 1);
  return {
    rows,
    inFeatures,
    outFeatures,
    x: convkit.tensor(randomArray(random, rows * inFeatures, Ctor), xShape),
    w: convkit.tensor(randomArray(random, outFeatures * inFeatures, Ctor), [outFeatures, inFeatures]),
    b: withBias ? randomArray(random, outFeatures, Ctor) : null,
  };
}

describe('linear ops', () => {
  for (const dtype of ['float32', 'float64']) {
    it(`matches a plain loop (${dtype}), with and without bias, on shapes spanning several GEMM tiles`, () => {
      for (const [xShape, outFeatures, withBias] of [
        [[64, 400], 120, true],
        [[3, 5, 7], 9, false],
        [[7], 3, true],
        [[33, 150], 70, true],
      ]) {
        const { x, w, b, rows, inFeatures } = inputs(dtype, xShape, outFeatures, 51, withBias);
        const xCopy = x.data.slice();
        const y = convkit.linear(x, w, b);
        assert.deepStrictEqual(Array.from(y.shape), [...xShape.slice(0, -1), outFeatures]);
        assert.strictEqual(y.dtype, dtype);
        // float32 rounding grows with the reduction length: the references' abs 1e-5 is meant
        // for their short reductions, so scale it by K/25 here (K = 400 gives 1.6e-4).
        const tolerance = dtype === 'float32' ? { ...TOLERANCE.float32, abs: TOLERANCE.float32.abs * Math.max(1, inFeatures / 25) } : TOLERANCE.float64;
        assertAllClose(y.data, referenceLinear(x.data, w.data, b, rows, inFeatures, outFeatures), tolerance, `y ${xShape}`);
        assertExactlyEqual(x.data, xCopy, 'x is left unmodified');
      }
    });
  }

  it('linearBackward gives the gradients of x, w and b (finite differences, float64)', () => {
    const { x, w, b, rows, outFeatures } = inputs('float64', [2, 3, 4], 5, 52);
    const bias = convkit.tensor(b, [outFeatures]);
    const { output, cache } = convkit.linearForward(x, w, bias);
    const g = convkit.tensor(randomArray(rng(53), rows * outFeatures), output.shape);
    const { dx, dw, db } = convkit.linearBackward(g, cache);
    assert.deepStrictEqual(
      [dx.shape, dw.shape, db.shape].map((s) => Array.from(s)),
      [[2, 3, 4], [5, 4], [5]],
    );
    const loss = () => dot(convkit.linear(x, w, bias).data, g.data);
    const close = { rel: 1e-6, abs: 1e-8 };
    assertAllClose(dx.data, numericGradient(x.data, loss, 1e-6), close, 'dx');
    assertAllClose(dw.data, numericGradient(w.data, loss, 1e-6), close, 'dw');
    assertAllClose(db.data, numericGradient(bias.data, loss, 1e-6), close, 'db');
    assert.strictEqual(convkit.linearBackward(g, convkit.linearForward(x, w, null).cache).db, null);
  });

  it('async twins give the sync results', async () => {
    const { x, w, b } = inputs('float32', [20, 30], 10, 54);
    const sync = convkit.linearForward(x, w, b);
    const asyncResult = await convkit.async.linearForward(x, w, b);
    assertExactlyEqual(asyncResult.output.data, sync.output.data, 'output');
    assertExactlyEqual((await convkit.async.linear(x, w, b)).data, sync.output.data, 'linear');
    const syncGrads = convkit.linearBackward(sync.output, sync.cache);
    const asyncGrads = await convkit.async.linearBackward(sync.output, sync.cache);
    for (const name of ['dx', 'dw', 'db']) assertExactlyEqual(asyncGrads[name].data, syncGrads[name].data, name);
    for (const backward of [convkit.linearBackward, convkit.async.linearBackward]) {
      const grads = await backward(sync.output, sync.cache, { inputGradient: false });
      assert.strictEqual(grads.dx, null);
      for (const name of ['dw', 'db']) assertExactlyEqual(grads[name].data, syncGrads[name].data, `${name} without dx`);
    }
    const convResult = convkit.conv2dForward(
      convkit.tensor(new Float32Array(2 * 5 * 5 * 3).fill(0.5), [2, 5, 5, 3]),
      convkit.tensor(new Float32Array(2 * 2 * 3 * 4).fill(0.25), [2, 2, 3, 4]),
      null,
    );
    const convGrads = await convkit.async.conv2dBackward(convResult.output, convResult.cache, { inputGradient: false });
    assert.strictEqual(convGrads.dx, null);
    assertExactlyEqual(convGrads.dw.data, convkit.conv2dBackward(convResult.output, convResult.cache).dw.data, 'conv dw without dx');
  });

  it('refuses a non-boolean inputGradient option with ERR_ARG', () => {
    const { x, w } = inputs('float32', [4, 6], 3, 56);
    const { output, cache } = convkit.linearForward(x, w, null);
    const error = thrown(() => convkit.linearBackward(output, cache, { inputGradient: 'no' }));
    assert.strictEqual(error.code, 'ERR_ARG');
    assert.match(error.message, /options\.inputGradient must be a boolean, got "no"/);
  });

  it('refuses bad arguments with coded errors naming them', async () => {
    const { x, w } = inputs('float32', [4, 6], 3, 55);
    const cases = [
      [() => convkit.linear(x, convkit.tensor(new Float32Array(15), [3, 5])), 'ERR_SHAPE', /last dimension of x \[\.\.\., in\] must be in = 5/],
      [() => convkit.linear(x, convkit.tensor(new Float32Array(18), [3, 6, 1])), 'ERR_SHAPE', /w must have 2 dimensions \[out, in\], got shape \[3, 6, 1\]/],
      [() => convkit.linear(x, convkit.tensor(new Float64Array(18), [3, 6])), 'ERR_DTYPE', /w must be float32 like x, got float64/],
      [() => convkit.linear(x, w, new Float32Array(4)), 'ERR_SHAPE', /b must have out = 3 elements, got 4/],
      [() => convkit.linear(x, w, { data: new Float32Array(3), shape: [1, 1, 1, 3] }), 'ERR_SHAPE', /b must be of shape \[out\] with out = 3/],
      [() => convkit.linear({ data: new Float32Array(5), shape: [4, 6] }, w), 'ERR_SHAPE', /x has shape \[4, 6\], which needs 24 elements/],
      [() => convkit.linearBackward(x, {}), 'ERR_CACHE', /cache must be the LinearCache of a linearForward/],
      [
        () => convkit.linearBackward(convkit.tensor(new Float32Array(8), [4, 2]), convkit.linearForward(x, w).cache),
        'ERR_SHAPE',
        /dOut must have the forward output's shape \[4, 3\]/,
      ],
    ];
    for (const [call, code, message] of cases) {
      const error = thrown(call);
      assert.strictEqual(error.code, code, error.message);
      assert.match(error.message, message);
    }
    assert.strictEqual((await rejected(convkit.async.linear(x, null))).code, 'ERR_ARG');
    assert.strictEqual(convkit.linear(x, w).size, 12, 'the next valid call works');
  });
});
