'use strict';
// Every layer's backward, and a whole small model's, against central finite differences of its
// forward in float64. Layer losses are L = sum(forward(x) * G) for a fixed random G, so the
// backward of dOut = G must give dL/dx and dL/dparameters.
const assert = require('assert');
const convkit = require('../dist');
const { rng, product, randomArray, distinctArray, dot, numericGradient: numericGradientWith, assertGradient: assertGradientWithin } = require('./helpers');

const { nn } = convkit;
const EPS = 1e-6;
const TOLERANCE = { rel: 1e-6, abs: 1e-8 };
const numericGradient = (data, loss) => numericGradientWith(data, loss, EPS);
const assertGradient = (analytic, numeric, label) => assertGradientWithin(analytic, numeric, label, TOLERANCE);

/**
 * Runs forward (training mode) and backward with a random dOut, then checks dx and every
 * parameter gradient against finite differences of an eval-mode forward.
 */
function checkModule(module, x, random, label) {
  module.train();
  const output = module.forward(x);
  const g = convkit.tensor(randomArray(random, output.size), output.shape, { layout: output.layout });
  const dx = module.backward(g);
  const loss = () => {
    module.eval();
    const value = dot(module.forward(x).data, g.data);
    module.train();
    return value;
  };
  assert.deepStrictEqual(Array.from(dx.shape), Array.from(x.shape), `${label}: dx has the shape of x`);
  assertGradient(dx.data, numericGradient(x.data, loss), `${label} dx`);
  for (const [name, parameter] of module.namedParameters()) {
    assert.ok(parameter.grad, `${label}: ${name}.grad is set`);
    assertGradient(parameter.grad.data, numericGradient(parameter.data, loss), `${label} d${name}`);
  }
}

function activation(random, layout, n, h, w, c, fill = randomArray) {
  const shape = layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
  return convkit.tensor(fill(random, product(shape)), shape, { layout });
}

/** Normal draws pushed at least 0.1 away from 0, so that no ReLU kink lies within EPS. */
function awayFromZero(random, count) {
  return randomArray(random, count).map((v) => (v >= 0 ? v + 0.1 : v - 0.1));
}

describe('nn gradient checks (float64, finite differences)', () => {
  for (const layout of ['NHWC', 'NCHW']) {
    describe(layout, () => {
      it('Conv2d with bias, stride and padding', () => {
        const random = rng(11);
        const conv = new nn.Conv2d(3, 4, [3, 2], { layout, stride: [2, 1], padding: 1, dtype: 'float64', generator: new nn.Generator(1) });
        checkModule(conv, activation(random, layout, 2, 5, 4, 3), random, 'Conv2d');
      });

      it('Conv2d without bias, grouped and dilated', () => {
        const random = rng(12);
        const conv = new nn.Conv2d(4, 2, 2, { layout, groups: 2, dilation: 2, bias: false, dtype: 'float64', generator: new nn.Generator(2) });
        assert.strictEqual(conv.bias, null);
        checkModule(conv, activation(random, layout, 1, 5, 5, 4), random, 'Conv2d grouped');
      });

      it('MaxPool2d', () => {
        const random = rng(13);
        checkModule(new nn.MaxPool2d(2, { layout, stride: 1, padding: 1 }), activation(random, layout, 2, 4, 5, 3, distinctArray), random, 'MaxPool2d');
      });

      it('AvgPool2d', () => {
        const random = rng(14);
        const pool = new nn.AvgPool2d([3, 2], { layout, stride: 2, padding: 1, ceilMode: true, countIncludePad: false });
        checkModule(pool, activation(random, layout, 2, 5, 4, 2), random, 'AvgPool2d');
      });

      it('Flatten', () => {
        const random = rng(15);
        checkModule(new nn.Flatten(), activation(random, layout, 2, 3, 2, 3), random, 'Flatten');
      });
    });
  }

  it('Linear with and without bias, on [N, in] and [A, B, in] inputs', () => {
    const random = rng(16);
    const withBias = new nn.Linear(5, 3, { dtype: 'float64', generator: new nn.Generator(3) });
    checkModule(withBias, convkit.tensor(randomArray(random, 4 * 5), [4, 5]), random, 'Linear');
    const noBias = new nn.Linear(4, 6, { bias: false, dtype: 'float64', generator: new nn.Generator(4) });
    checkModule(noBias, convkit.tensor(randomArray(random, 2 * 3 * 4), [2, 3, 4]), random, 'Linear 3-D');
  });

  it('ReLU', () => {
    const random = rng(17);
    checkModule(new nn.ReLU(), convkit.tensor(awayFromZero(random, 30), [2, 3, 5]), random, 'ReLU');
  });

  it('CrossEntropyLoss (mean and sum), with logits large enough to overflow a naive softmax', () => {
    const random = rng(18);
    for (const reduction of ['mean', 'sum']) {
      const criterion = new nn.CrossEntropyLoss({ reduction });
      const logits = convkit.tensor(
        randomArray(random, 4 * 5).map((v) => 300 * v),
        [4, 5],
        { dtype: 'float64' },
      );
      const targets = [3, 0, 4, 4];
      const loss = criterion.forward(logits, targets);
      assert.ok(Number.isFinite(loss), `finite loss, got ${loss}`);
      const analytic = criterion.backward().data;
      assertGradient(
        analytic,
        numericGradient(logits.data, () => criterion.forward(logits, targets)),
        `CrossEntropyLoss ${reduction}`,
      );
    }
  });

  for (const layout of ['NHWC', 'NCHW']) {
    it(`a whole model, conv -> relu -> pool -> flatten -> linear -> loss (${layout})`, () => {
      const random = rng(19);
      const options = { dtype: 'float64', generator: new nn.Generator(5) };
      const model = new nn.Sequential(
        new nn.Conv2d(2, 3, 3, { ...options, layout, padding: 1 }),
        new nn.ReLU(),
        new nn.MaxPool2d(2, { layout }),
        new nn.Flatten(),
        new nn.Linear(12, 4, options),
      );
      const criterion = new nn.CrossEntropyLoss();
      const x = activation(random, layout, 3, 4, 4, 2);
      const targets = [1, 3, 0];
      model.train();
      criterion.forward(model.forward(x), targets);
      const dx = model.backward(criterion.backward());
      const loss = () => criterion.forward(model.eval().forward(x), targets);
      assertGradient(dx.data, numericGradient(x.data, loss), 'model dx');
      const named = model.namedParameters();
      assert.deepStrictEqual(
        named.map(([name]) => name),
        ['0.weight', '0.bias', '4.weight', '4.bias'],
      );
      for (const [name, parameter] of named) assertGradient(parameter.grad.data, numericGradient(parameter.data, loss), `model d${name}`);
    });
  }
});
