'use strict';
// Backward passes against central finite differences of the forward passes, in float64.
// Every loss here is L = sum(forward(...) * G) for a fixed random G, so dL/d(input) is exactly
// what the backward pass computes from dOut = G.
const assert = require('assert');
const convkit = require('../dist');
const { rng, product, randomArray, distinctArray, dot, numericGradient: numericGradientWith, assertGradient: assertGradientWithin } = require('./helpers');

const EPS = 1e-3;
const GRAD_TOLERANCE = { rel: 1e-6, abs: 1e-7 };
const numericGradient = (data, loss) => numericGradientWith(data, loss, EPS);
const assertGradient = (analytic, numeric, label) => assertGradientWithin(analytic, numeric, label, GRAD_TOLERANCE);

function activationShape(layout, n, h, w, c) {
  return layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
}

function weightShape(layout, kh, kw, cinPerGroup, cout) {
  return layout === 'NHWC' ? [kh, kw, cinPerGroup, cout] : [cout, cinPerGroup, kh, kw];
}

function describeConfig(config) {
  return Object.entries(config)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(' ');
}

// ---- Convolution

const CONV_CONFIGS = [
  { n: 2, c: 3, h: 5, w: 6, cout: 4, k: [3, 3], stride: 1, padding: 1, dilation: 1, groups: 1, bias: 'vector' },
  { n: 1, c: 2, h: 7, w: 8, cout: 3, k: [3, 2], stride: [2, 3], padding: [2, 1], dilation: 1, groups: 1, bias: null },
  { n: 1, c: 2, h: 5, w: 6, cout: 2, k: [2, 4], stride: 1, padding: 'same', dilation: 1, groups: 1, bias: 'vector' },
  { n: 2, c: 2, h: 6, w: 5, cout: 3, k: [3, 3], stride: 1, padding: 'same', dilation: 2, groups: 1, bias: 'vector' },
  { n: 1, c: 3, h: 7, w: 6, cout: 2, k: [2, 2], stride: 2, padding: 0, dilation: [2, 1], groups: 1, bias: null },
  { n: 2, c: 4, h: 5, w: 5, cout: 6, k: [3, 3], stride: 1, padding: 1, dilation: 1, groups: 2, bias: 'vector' },
  { n: 1, c: 3, h: 6, w: 6, cout: 3, k: [3, 3], stride: 2, padding: 1, dilation: 1, groups: 3, bias: 'vector' },
  { n: 2, c: 3, h: 5, w: 4, cout: 6, k: [3, 3], stride: 1, padding: 1, dilation: 1, groups: 3, bias: null },
  { n: 2, c: 4, h: 4, w: 5, cout: 3, k: [1, 1], stride: 1, padding: 0, dilation: 1, groups: 1, bias: 'vector' },
  { n: 1, c: 3, h: 5, w: 5, cout: 2, k: [1, 1], stride: 2, padding: 0, dilation: 1, groups: 1, bias: null },
  { n: 2, c: 2, h: 4, w: 5, cout: 3, k: [4, 5], stride: 1, padding: 'valid', dilation: 1, groups: 1, bias: '4d' },
  { n: 1, c: 2, h: 3, w: 4, cout: 2, k: [2, 2], stride: [1, 2], padding: [3, 2], dilation: 1, groups: 1, bias: '4d' },
];

/** Random small convolutions whose kernel fits the padded input. */
function randomConvConfigs(count, seed) {
  const random = rng(seed);
  const configs = [];
  while (configs.length < count) {
    const groups = random.pick([1, 1, 2, 3]);
    const c = groups * random.int(1, 2);
    const cout = groups * random.int(1, 2);
    const k = [random.int(1, 3), random.int(1, 3)];
    const dilation = [random.int(1, 2), random.int(1, 2)];
    const same = random.uniform() < 0.25;
    const stride = same ? 1 : [random.int(1, 3), random.int(1, 3)];
    const padding = same ? 'same' : [random.int(0, 2), random.int(0, 2)];
    const h = random.int(3, 7);
    const w = random.int(3, 7);
    const fits = (size, kernel, d, pad) => size + 2 * pad >= d * (kernel - 1) + 1;
    if (!same && !(fits(h, k[0], dilation[0], padding[0]) && fits(w, k[1], dilation[1], padding[1]))) continue;
    configs.push({ n: random.int(1, 2), c, h, w, cout, k, stride, padding, dilation, groups, bias: random.pick(['vector', '4d', null]) });
  }
  return configs;
}

function checkConvGradients(config, layout, seed) {
  const random = rng(seed);
  const { n, c, h, w, cout, k, groups } = config;
  const options = { layout, stride: config.stride, padding: config.padding, dilation: config.dilation, groups };
  const xShape = activationShape(layout, n, h, w, c);
  const wShape = weightShape(layout, k[0], k[1], c / groups, cout);
  const x = convkit.tensor(randomArray(random, product(xShape)), xShape, { layout });
  const wt = convkit.tensor(randomArray(random, product(wShape)), wShape, { layout });
  const b = config.bias === null ? null : convkit.tensor(randomArray(random, cout), config.bias === '4d' ? [1, 1, 1, cout] : [cout], { layout });

  const { output, cache } = convkit.conv2dForward(x, wt, b, options);
  const g = convkit.tensor(randomArray(random, output.size), output.shape, { layout });
  const grads = convkit.conv2dBackward(g, cache);
  const loss = () => dot(convkit.conv2d(x, wt, b, options).data, g.data);

  assert.deepStrictEqual(Array.from(grads.dx.shape), xShape);
  assert.deepStrictEqual(Array.from(grads.dw.shape), wShape);
  assertGradient(grads.dx.data, numericGradient(x.data, loss), 'dx');
  assertGradient(grads.dw.data, numericGradient(wt.data, loss), 'dw');
  if (b === null) {
    assert.strictEqual(grads.db, null);
  } else {
    assert.deepStrictEqual(Array.from(grads.db.shape), Array.from(b.shape), 'db has the shape of b');
    assertGradient(grads.db.data, numericGradient(b.data, loss), 'db');
  }
  // Without the input gradient: no dx, the same dw and db bit for bit.
  const parameterGrads = convkit.conv2dBackward(g, cache, { inputGradient: false });
  assert.strictEqual(parameterGrads.dx, null);
  assert.deepStrictEqual(parameterGrads.dw.data, grads.dw.data);
  assert.deepStrictEqual(parameterGrads.db && parameterGrads.db.data, grads.db && grads.db.data);
}

// ---- Pooling

const POOL_CONFIGS = [
  { n: 2, c: 3, h: 4, w: 6, kernelSize: 2, stride: undefined, padding: 0, ceilMode: false },
  { n: 1, c: 2, h: 7, w: 7, kernelSize: 3, stride: 2, padding: 1, ceilMode: true },
  { n: 2, c: 2, h: 5, w: 6, kernelSize: 3, stride: 1, padding: 1, ceilMode: false },
  { n: 1, c: 3, h: 6, w: 7, kernelSize: [2, 3], stride: [1, 2], padding: [1, 1], ceilMode: true },
  { n: 2, c: 2, h: 5, w: 4, kernelSize: [5, 4], stride: 1, padding: 0, ceilMode: false },
  { n: 1, c: 2, h: 7, w: 7, kernelSize: 2, stride: 2, padding: 1, ceilMode: true },
  { n: 1, c: 1, h: 8, w: 5, kernelSize: [4, 2], stride: [3, 3], padding: [2, 1], ceilMode: true },
];

function randomPoolConfigs(count, seed) {
  const random = rng(seed);
  const configs = [];
  for (let i = 0; i < count; i++) {
    const kernelSize = [random.int(1, 3), random.int(1, 3)];
    configs.push({
      n: random.int(1, 2),
      c: random.int(1, 3),
      h: random.int(3, 7),
      w: random.int(3, 7),
      kernelSize,
      stride: [random.int(1, 3), random.int(1, 3)],
      padding: kernelSize.map((kernel) => random.int(0, Math.floor(kernel / 2))),
      ceilMode: random.uniform() < 0.5,
    });
  }
  return configs;
}

function checkPoolGradient(config, layout, mode, countIncludePad, seed) {
  const random = rng(seed);
  const xShape = activationShape(layout, config.n, config.h, config.w, config.c);
  const options = { layout, kernelSize: config.kernelSize, stride: config.stride, padding: config.padding, ceilMode: config.ceilMode, countIncludePad };
  // Distinct inputs: a max never ties, so the loss is differentiable at every point probed.
  const x = convkit.tensor(distinctArray(random, product(xShape)), xShape, { layout });
  const { output, cache } = convkit.pool2dForward(x, { ...options, mode });
  const g = convkit.tensor(randomArray(random, output.size), output.shape, { layout });
  const dx = convkit.pool2dBackward(g, cache);
  const pool = mode === 'max' ? convkit.maxPool2d : convkit.avgPool2d;
  const loss = () => dot(pool(x, options).data, g.data);
  assert.deepStrictEqual(Array.from(dx.shape), xShape);
  assertGradient(dx.data, numericGradient(x.data, loss), 'dx');
}

describe('gradient checks (float64, central differences)', function () {
  for (const layout of ['NHWC', 'NCHW']) {
    describe(`conv2d ${layout}`, function () {
      [...CONV_CONFIGS, ...randomConvConfigs(10, 7)].forEach((config, index) => {
        it(describeConfig(config), function () {
          checkConvGradients(config, layout, 1000 + index);
        });
      });
    });

    describe(`pool2d ${layout}`, function () {
      [...POOL_CONFIGS, ...randomPoolConfigs(6, 11)].forEach((config, index) => {
        for (const [mode, countIncludePad] of [
          ['max', undefined],
          ['avg', true],
          ['avg', false],
        ]) {
          it(`${mode}${mode === 'avg' ? ` countIncludePad=${countIncludePad}` : ''} ${describeConfig(config)}`, function () {
            checkPoolGradient(config, layout, mode, countIncludePad, 2000 + index);
          });
        }
      });
    });
  }
});
