'use strict';
// Weights packed ahead (packConv2dWeights): the same bits as packing inside the call, a snapshot
// of the weights, and clear errors when they do not fit the call.
const assert = require('assert');
const convkit = require('../dist');
const { assertExactlyEqual, randomArray, rng } = require('./helpers');

function weightShape(layout, cout, cinPerGroup, k) {
  return layout === 'NHWC' ? [k, k, cinPerGroup, cout] : [cout, cinPerGroup, k, k];
}

function inputShape(layout, n, c, h, w) {
  return layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
}

function makeLayer(random, { layout, dtype, n = 2, c = 24, h = 9, w = 11, cout = 40, k = 3, groups = 1 }) {
  const Ctor = dtype === 'float64' ? Float64Array : Float32Array;
  const xShape = inputShape(layout, n, c, h, w);
  const wShape = weightShape(layout, cout, c / groups, k);
  return {
    x: convkit.tensor(
      randomArray(
        random,
        xShape.reduce((a, b) => a * b),
        Ctor,
      ),
      xShape,
      { layout },
    ),
    w: convkit.tensor(
      randomArray(
        random,
        wShape.reduce((a, b) => a * b),
        Ctor,
      ),
      wShape,
      { layout },
    ),
    b: randomArray(random, cout, Ctor),
  };
}

describe('packed convolution weights', function () {
  const random = rng(20261123);

  // Layers on the im2col + GEMM path (Cout/groups above the direct kernels' limit), the direct
  // path (few outputs) and the depthwise path (nothing to pack).
  const configs = [
    { groups: 1, options: { padding: 1 } },
    { groups: 2, options: { stride: [2, 1], padding: [0, 2], dilation: 2, groups: 2 } },
    { cout: 6, groups: 1, options: { padding: 'same' } },
    { c: 24, cout: 24, groups: 24, options: { padding: 1, groups: 24 } },
  ];
  for (const layout of ['NHWC', 'NCHW']) {
    for (const dtype of ['float32', 'float64']) {
      for (const config of configs) {
        const options = { ...config.options, layout };
        it(`gives the bits of unpacked weights, and stays a snapshot (${layout} ${dtype} ${JSON.stringify(config)})`, async function () {
          const { x, w, b } = makeLayer(random, { layout, dtype, ...config });
          const packed = convkit.packConv2dWeights(w, { layout, groups: config.groups });
          assert.strictEqual(packed.layout, layout);
          assert.strictEqual(packed.dtype, dtype);
          assert.deepStrictEqual(Array.from(packed.shape), w.shape);
          const expected = convkit.conv2d(x, w, b, options);
          assertExactlyEqual(convkit.conv2d(x, packed, b, options).data, expected.data, 'sync');
          assertExactlyEqual((await convkit.async.conv2d(x, packed, b, options)).data, expected.data, 'async');

          // The cache of a packed forward backpropagates like the unpacked one.
          const dOut = convkit.tensor(randomArray(random, expected.size, w.data.constructor), expected.shape, { layout });
          const fromPacked = convkit.conv2dBackward(dOut, convkit.conv2dForward(x, packed, b, options).cache);
          const fromTensor = convkit.conv2dBackward(dOut, convkit.conv2dForward(x, w, b, options).cache);
          for (const name of ['dx', 'dw', 'db']) assertExactlyEqual(fromPacked[name].data, fromTensor[name].data, name);

          // Writing to the original weights does not reach the packed copy.
          w.data.fill(0);
          assertExactlyEqual(convkit.conv2d(x, packed, b, options).data, expected.data, 'after w changed');
        });
      }
    }
  }

  it('serves other batch and image sizes than the first call', function () {
    const layer = makeLayer(random, { layout: 'NHWC', dtype: 'float32' });
    const packed = convkit.packConv2dWeights(layer.w);
    for (const [n, h, w] of [
      [1, 5, 5],
      [3, 17, 4],
    ]) {
      const x = convkit.tensor(randomArray(random, n * h * w * 24, Float32Array), [n, h, w, 24]);
      assertExactlyEqual(convkit.conv2d(x, packed, null, { padding: 1 }).data, convkit.conv2d(x, layer.w, null, { padding: 1 }).data, `${n}x${h}x${w}`);
    }
  });

  it('drops its memory on dispose() and refuses to run afterwards', async function () {
    const { x, w } = makeLayer(random, { layout: 'NHWC', dtype: 'float32' });
    const packed = convkit.packConv2dWeights(w);
    assert.ok(packed.byteLength > w.data.byteLength, 'holds the copy and the packed form');
    packed.dispose();
    packed.dispose();
    assert.strictEqual(packed.disposed, true);
    assert.strictEqual(packed.byteLength, 0);
    assert.throws(() => convkit.conv2d(x, packed), { code: 'ERR_ARG', message: /disposed/ });
    await assert.rejects(convkit.async.conv2d(x, packed), { code: 'ERR_ARG', message: /disposed/ });
  });

  it('refuses a call whose groups, layout or dtype differ from the packing', function () {
    const { x, w } = makeLayer(random, { layout: 'NHWC', dtype: 'float32', groups: 2 });
    const packed = convkit.packConv2dWeights(w, { groups: 2 });
    assert.throws(() => convkit.conv2d(x, packed), { code: 'ERR_ARG', message: /options\.groups.*2, the groups w was packed for.*got 1/ });
    assert.throws(() => convkit.conv2d(x, packed, null, { groups: 2, layout: 'NCHW' }), { code: 'ERR_ARG', message: /layout/ });
    const x64 = convkit.tensor(Float64Array.from(x.data), x.shape);
    assert.throws(() => convkit.conv2d(x64, packed, null, { groups: 2 }), { code: 'ERR_DTYPE' });
    // Channels that do not match the packed weights.
    const x10 = convkit.tensor(new Float32Array(2 * 9 * 11 * 10), [2, 9, 11, 10]);
    assert.throws(() => convkit.conv2d(x10, packed, null, { groups: 2 }), { code: 'ERR_SHAPE' });
  });

  it('checks its own arguments', function () {
    assert.throws(() => convkit.packConv2dWeights(null), { code: 'ERR_ARG', message: /packConv2dWeights: w/ });
    const w = convkit.tensor(new Float32Array(3 * 3 * 4 * 6), [3, 3, 4, 6]);
    assert.throws(() => convkit.packConv2dWeights(w, { groups: 4 }), { code: 'ERR_SHAPE', message: /groups/ });
    assert.throws(() => convkit.packConv2dWeights(w, { groups: 0 }), { code: 'ERR_ARG', message: /options\.groups/ });
    assert.throws(() => convkit.packConv2dWeights(w, { layout: 'NCWH' }), { code: 'ERR_ARG', message: /layout/ });
  });
});
