'use strict';
// Results do not depend on the thread count (beyond the reference tolerance), and the thread
// count is settable and validated.
const assert = require('assert');
const convkit = require('../dist');
const { TOLERANCE, rng, randomArray, distinctArray, assertAllClose, assertExactlyEqual, thrown } = require('./helpers');

/** Every op on inputs large enough to be split across threads. Returns the results by name. */
async function runAll(api, inputs) {
  const { x, w, b, convOptions, poolOptions } = inputs;
  const { output, cache } = await api.conv2dForward(x, w, b, convOptions);
  const grads = await api.conv2dBackward(output, cache);
  const max = await api.pool2dForward(x, { ...poolOptions, mode: 'max' });
  const avg = await api.pool2dForward(x, { ...poolOptions, mode: 'avg' });
  return {
    conv: output,
    dx: grads.dx,
    dw: grads.dw,
    db: grads.db,
    maxPool: max.output,
    maxPoolDx: await api.pool2dBackward(max.output, max.cache),
    avgPool: avg.output,
    avgPoolDx: await api.pool2dBackward(avg.output, avg.cache),
    padded: await api.zeroPad(x, 2),
  };
}

function makeInputs(dtype, layout) {
  const Ctor = dtype === 'float64' ? Float64Array : Float32Array;
  const random = rng(dtype === 'float64' ? 61 : 62);
  const [n, h, w, c, cout] = [4, 17, 15, 12, 16];
  const xShape = layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
  const wShape = layout === 'NHWC' ? [3, 3, c, cout] : [cout, c, 3, 3];
  return {
    x: convkit.tensor(distinctArray(random, n * h * w * c, Ctor), xShape, { layout }),
    w: convkit.tensor(randomArray(random, 9 * c * cout, Ctor), wShape, { layout }),
    b: randomArray(random, cout, Ctor),
    convOptions: { padding: 1, stride: [1, 2] },
    poolOptions: { kernelSize: 3, stride: 2, padding: 1, ceilMode: true },
  };
}

describe('thread counts', function () {
  let original;
  before(function () {
    original = convkit.getNumThreads();
  });
  after(function () {
    convkit.setNumThreads(original);
  });

  it('getNumThreads starts at a positive integer and reflects setNumThreads', function () {
    assert.ok(Number.isInteger(original) && original >= 1, `getNumThreads() = ${original}`);
    for (const n of [1, 2, 3, 1]) {
      convkit.setNumThreads(n);
      assert.strictEqual(convkit.getNumThreads(), n);
    }
  });

  it('refuses bad thread counts with ERR_ARG and keeps the current one', function () {
    convkit.setNumThreads(2);
    for (const bad of [0, -1, 1.5, NaN, Infinity, '2', null, undefined]) {
      const error = thrown(() => convkit.setNumThreads(bad));
      assert.ok(error instanceof convkit.ConvkitError, `setNumThreads(${String(bad)}) threw ${error}`);
      assert.strictEqual(error.code, 'ERR_ARG');
      assert.strictEqual(convkit.getNumThreads(), 2);
    }
  });

  for (const dtype of ['float64', 'float32']) {
    for (const layout of ['NHWC', 'NCHW']) {
      it(`1, 2 and 3 threads agree, and async equals sync (${dtype} ${layout})`, async function () {
        const inputs = makeInputs(dtype, layout);
        convkit.setNumThreads(1);
        const single = await runAll(convkit, inputs);
        for (const threads of [1, 2, 3]) {
          convkit.setNumThreads(threads);
          const sync = await runAll(convkit, inputs);
          const async = await runAll(convkit.async, inputs);
          for (const name of Object.keys(single)) {
            assertAllClose(sync[name].data, single[name].data, TOLERANCE[dtype], `${name} with ${threads} threads`);
            // The work split depends only on the thread count, so async equals sync bit for bit.
            assertExactlyEqual(async[name].data, sync[name].data, `async ${name} with ${threads} threads`);
          }
        }
      });
    }
  }
});
