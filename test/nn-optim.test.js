'use strict';
// Optimiser steps against PyTorch's update rules, written out here element by element on tiny
// float64 vectors: every expected value is computed from the formula, none is hard-coded.
const assert = require('assert');
const convkit = require('../dist');
const { rng, randomArray, assertAllClose, thrown } = require('./helpers');

const { nn, optim } = convkit;
const CLOSE = { rel: 1e-14, abs: 1e-15 };

/** A float64 parameter with a random value, and a function that sets a random gradient. */
function parameterWithGradients(seed, count = 5) {
  const random = rng(seed);
  const parameter = new nn.Parameter(randomArray(random, count), [count]);
  const nextGradient = () => {
    parameter.grad = convkit.tensor(randomArray(random, count), [count]);
    return Float64Array.from(parameter.grad.data);
  };
  return { parameter, nextGradient };
}

describe('optim', () => {
  describe('SGD', () => {
    const cases = [
      { lr: 0.1 },
      { lr: 0.05, weightDecay: 0.01 },
      { lr: 0.1, momentum: 0.9 },
      { lr: 0.1, momentum: 0.8, dampening: 0.3, weightDecay: 0.02 },
      { lr: 0.1, momentum: 0.9, nesterov: true },
    ];
    for (const options of cases) {
      it(`follows PyTorch's rule with ${JSON.stringify(options)}`, () => {
        const { parameter, nextGradient } = parameterWithGradients(21);
        const sgd = new optim.SGD([parameter], options);
        const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options;
        const expected = Float64Array.from(parameter.data);
        let buffer = null;
        for (let step = 0; step < 4; step++) {
          const grad = nextGradient();
          const g = expected.map((p, i) => grad[i] + weightDecay * p);
          let direction = g;
          if (momentum !== 0) {
            buffer = buffer === null ? g : buffer.map((b, i) => momentum * b + (1 - dampening) * g[i]);
            direction = nesterov ? g.map((gi, i) => gi + momentum * buffer[i]) : buffer;
          }
          for (let i = 0; i < expected.length; i++) expected[i] -= lr * direction[i];
          sgd.step();
          assertAllClose(parameter.data, expected, CLOSE, `step ${step + 1}`);
        }
      });
    }
  });

  describe('Adam', () => {
    for (const options of [{}, { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }]) {
      it(`follows PyTorch's rule, bias correction included, with ${JSON.stringify(options)}`, () => {
        const { parameter, nextGradient } = parameterWithGradients(22);
        const adam = new optim.Adam([parameter], options);
        const { lr = 1e-3, betas: [beta1, beta2] = [0.9, 0.999], eps = 1e-8, weightDecay = 0 } = options;
        const expected = Float64Array.from(parameter.data);
        const m = new Float64Array(expected.length);
        const v = new Float64Array(expected.length);
        for (let t = 1; t <= 4; t++) {
          const grad = nextGradient();
          for (let i = 0; i < expected.length; i++) {
            const g = grad[i] + weightDecay * expected[i];
            m[i] = beta1 * m[i] + (1 - beta1) * g;
            v[i] = beta2 * v[i] + (1 - beta2) * g * g;
            const mHat = m[i] / (1 - beta1 ** t);
            const vHat = v[i] / (1 - beta2 ** t);
            expected[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
          }
          adam.step();
          assertAllClose(parameter.data, expected, { rel: 1e-12, abs: 1e-15 }, `step ${t}`);
        }
      });
    }

    it('moves each element by about lr on its first step, whatever the gradient scale', () => {
      const { parameter, nextGradient } = parameterWithGradients(23);
      const before = Float64Array.from(parameter.data);
      const grad = nextGradient().map((g) => g * 1e4);
      parameter.grad = convkit.tensor(grad, [grad.length]);
      new optim.Adam([parameter], { lr: 0.5 }).step();
      parameter.data.forEach((p, i) => assert.ok(Math.abs(Math.abs(before[i] - p) - 0.5) < 1e-6, `element ${i}`));
    });
  });

  it('skips parameters without a gradient', () => {
    const { parameter } = parameterWithGradients(24);
    const before = Float64Array.from(parameter.data);
    new optim.SGD([parameter], { lr: 1 }).step();
    new optim.Adam([parameter]).step();
    assert.deepStrictEqual(parameter.data, before);
  });

  it('rejects bad options and parameters with coded errors', () => {
    const { parameter } = parameterWithGradients(25);
    assert.strictEqual(thrown(() => new optim.SGD([parameter], {})).code, 'ERR_ARG');
    assert.match(thrown(() => new optim.SGD([parameter], { lr: -1 })).message, /options\.lr must be a number >= 0, got -1/);
    assert.match(thrown(() => new optim.SGD([parameter], { lr: 0.1, nesterov: true })).message, /nesterov needs momentum > 0/);
    assert.match(thrown(() => new optim.Adam([parameter], { betas: [0.9, 1] })).message, /options\.betas\[1\] must be a number in \[0, 1\)/);
    assert.match(thrown(() => new optim.Adam([new Float64Array(3)])).message, /parameters\[0\] must be an nn\.Parameter/);
    parameter.grad = convkit.tensor(new Float64Array(2), [2]);
    assert.strictEqual(thrown(() => new optim.SGD([parameter], { lr: 0.1 }).step()).code, 'ERR_SHAPE');
  });
});
