'use strict';
// NHWC and NCHW compute the same thing: running an op in one layout equals running it in the
// other on transposed inputs (weights HWIO <-> OIHW), forward and backward.
const assert = require('assert');
const convkit = require('../dist');
const { TOLERANCE, rng, product, randomArray, distinctArray, assertAllClose, toNCHW, hwioToOihw, permute } = require('./helpers');

const NCHW_TO_NHWC = [0, 2, 3, 1];
const OIHW_TO_HWIO = [2, 3, 1, 0];

/** An NHWC tensor and its NCHW twin. */
function twins(nhwcData, nhwcShape) {
  const nhwc = convkit.tensor(nhwcData, nhwcShape, { layout: 'NHWC' });
  const t = toNCHW(nhwc);
  return { nhwc, nchw: convkit.tensor(t.data, t.shape, { layout: 'NCHW' }) };
}

function weightTwins(hwioData, hwioShape) {
  const hwio = convkit.tensor(hwioData, hwioShape, { layout: 'NHWC' });
  const t = hwioToOihw(hwio);
  return { nhwc: hwio, nchw: convkit.tensor(t.data, t.shape, { layout: 'NCHW' }) };
}

/** Asserts an NCHW result equals an NHWC one once transposed back. */
function assertSameActivation(nhwc, nchw, dtype, label) {
  assert.strictEqual(nhwc.layout, 'NHWC');
  assert.strictEqual(nchw.layout, 'NCHW');
  const back = permute(nchw.data, nchw.shape, NCHW_TO_NHWC);
  assert.deepStrictEqual(back.shape, Array.from(nhwc.shape), `${label} shape`);
  assertAllClose(back.data, nhwc.data, TOLERANCE[dtype], label);
}

function assertSameWeights(hwio, oihw, dtype, label) {
  const back = permute(oihw.data, oihw.shape, OIHW_TO_HWIO);
  assert.deepStrictEqual(back.shape, Array.from(hwio.shape), `${label} shape`);
  assertAllClose(back.data, hwio.data, TOLERANCE[dtype], label);
}

const CONVS = [
  { n: 2, h: 7, w: 6, c: 3, cout: 4, k: [3, 3], options: { stride: 1, padding: 1 } },
  { n: 1, h: 9, w: 8, c: 4, cout: 6, k: [3, 2], options: { stride: [2, 3], padding: [1, 2], dilation: [1, 2], groups: 2 } },
  { n: 2, h: 6, w: 5, c: 4, cout: 8, k: [2, 4], options: { padding: 'same', groups: 4 } },
  { n: 2, h: 5, w: 6, c: 5, cout: 3, k: [1, 1], options: {} },
  { n: 1, h: 16, w: 12, c: 8, cout: 8, k: [3, 3], options: { padding: 1 } },
];

const POOLS = [
  { n: 2, h: 6, w: 7, c: 3, options: { kernelSize: 2 } },
  { n: 1, h: 7, w: 7, c: 4, options: { kernelSize: 3, stride: 2, padding: 1, ceilMode: true } },
  { n: 2, h: 5, w: 8, c: 2, options: { kernelSize: [2, 3], stride: [1, 2], padding: [1, 1], countIncludePad: false } },
];

describe('layouts: NHWC and NCHW agree', function () {
  for (const dtype of ['float64', 'float32']) {
    const Ctor = dtype === 'float64' ? Float64Array : Float32Array;

    CONVS.forEach((config, index) => {
      it(`conv2d forward and backward ${dtype} #${index} ${JSON.stringify(config.options)}`, function () {
        const random = rng(300 + index);
        const groups = config.options.groups || 1;
        const x = twins(randomArray(random, config.n * config.h * config.w * config.c, Ctor), [config.n, config.h, config.w, config.c]);
        const wShape = [config.k[0], config.k[1], config.c / groups, config.cout];
        const w = weightTwins(randomArray(random, product(wShape), Ctor), wShape);
        const b = randomArray(random, config.cout, Ctor);

        const forward = {};
        for (const layout of ['NHWC', 'NCHW'])
          forward[layout] = convkit.conv2dForward(x[layout.toLowerCase()], w[layout.toLowerCase()], b, { ...config.options, layout });
        assertSameActivation(forward.NHWC.output, forward.NCHW.output, dtype, 'output');

        const dOut = twins(randomArray(random, forward.NHWC.output.size, Ctor), forward.NHWC.output.shape);
        const grads = {
          NHWC: convkit.conv2dBackward(dOut.nhwc, forward.NHWC.cache),
          NCHW: convkit.conv2dBackward(dOut.nchw, forward.NCHW.cache),
        };
        assertSameActivation(grads.NHWC.dx, grads.NCHW.dx, dtype, 'dx');
        assertSameWeights(grads.NHWC.dw, grads.NCHW.dw, dtype, 'dw');
        assertAllClose(grads.NCHW.db.data, grads.NHWC.db.data, TOLERANCE[dtype], 'db');
      });
    });

    POOLS.forEach((config, index) => {
      for (const mode of ['max', 'avg']) {
        it(`pool2d ${mode} forward and backward ${dtype} #${index} ${JSON.stringify(config.options)}`, function () {
          const random = rng(400 + index);
          const x = twins(distinctArray(random, config.n * config.h * config.w * config.c, Ctor), [config.n, config.h, config.w, config.c]);
          const nhwc = convkit.pool2dForward(x.nhwc, { ...config.options, mode, layout: 'NHWC' });
          const nchw = convkit.pool2dForward(x.nchw, { ...config.options, mode, layout: 'NCHW' });
          assertSameActivation(nhwc.output, nchw.output, dtype, 'output');
          const dOut = twins(randomArray(random, nhwc.output.size, Ctor), nhwc.output.shape);
          assertSameActivation(convkit.pool2dBackward(dOut.nhwc, nhwc.cache), convkit.pool2dBackward(dOut.nchw, nchw.cache), dtype, 'dx');
        });
      }
    });

    it(`zeroPad ${dtype}`, function () {
      const random = rng(500);
      const x = twins(randomArray(random, 2 * 4 * 5 * 3, Ctor), [2, 4, 5, 3]);
      assertSameActivation(convkit.zeroPad(x.nhwc, [2, 1]), convkit.zeroPad(x.nchw, [2, 1]), dtype, 'zeroPad');
    });
  }
});
