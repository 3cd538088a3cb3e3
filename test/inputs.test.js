'use strict';
// Ops never modify their inputs (data, shapes, caches), and accept typed-array views that do not
// start at the beginning of their buffer.
const assert = require('assert');
const convkit = require('../dist');
const { TOLERANCE, rng, randomArray, distinctArray, assertAllClose, product } = require('./helpers');

/** Byte-exact copies of every typed array and shape reachable from the arguments. */
function snapshot(values) {
  return values.map((value) => {
    if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
    if (Array.isArray(value)) return value.slice();
    return value;
  });
}

function watched(...tensors) {
  const values = [];
  for (const t of tensors) {
    if (t === null) continue;
    if (ArrayBuffer.isView(t)) values.push(t);
    else values.push(t.data, t.shape);
  }
  return values;
}

function assertUnchanged(values, before, label) {
  const after = snapshot(values);
  after.forEach((value, i) => assert.deepStrictEqual(value, before[i], `${label}: argument ${i} was modified`));
}

function fixtures(dtype, layout) {
  const Ctor = dtype === 'float64' ? Float64Array : Float32Array;
  const random = rng(77);
  const xShape = layout === 'NHWC' ? [2, 6, 5, 4] : [2, 4, 6, 5];
  const wShape = layout === 'NHWC' ? [3, 3, 2, 6] : [6, 2, 3, 3];
  const options = { layout, padding: 1, groups: 2 };
  const x = convkit.tensor(distinctArray(random, product(xShape), Ctor), xShape, { layout });
  const w = convkit.tensor(randomArray(random, product(wShape), Ctor), wShape, { layout });
  const b = convkit.tensor(randomArray(random, 6, Ctor), [6], { layout });
  const convOut = convkit.conv2d(x, w, b, options);
  const dOut = convkit.tensor(randomArray(random, convOut.size, Ctor), convOut.shape, { layout });
  const poolOptions = { layout, kernelSize: 2, stride: 1, padding: 1 };
  const poolOut = convkit.maxPool2d(x, poolOptions);
  const poolDOut = convkit.tensor(randomArray(random, poolOut.size, Ctor), poolOut.shape, { layout });
  return { x, w, b, dOut, options, poolOptions, poolDOut };
}

describe('inputs are left unmodified', function () {
  for (const dtype of ['float64', 'float32']) {
    for (const layout of ['NHWC', 'NCHW']) {
      for (const [apiName, api] of [
        ['sync', convkit],
        ['async', convkit.async],
      ]) {
        it(`every op (${apiName} ${dtype} ${layout})`, async function () {
          const { x, w, b, dOut, options, poolOptions, poolDOut } = fixtures(dtype, layout);
          const optionsCopy = JSON.parse(JSON.stringify({ options, poolOptions }));
          const check = async (label, args, call) => {
            const values = watched(...args);
            const before = snapshot(values);
            const result = await call();
            assertUnchanged(values, before, label);
            return result;
          };

          await check('zeroPad', [x], () => api.zeroPad(x, [1, 2]));
          await check('conv2d', [x, w, b], () => api.conv2d(x, w, b, options));
          await check('conv2d (bare bias)', [x, w, b.data], () => api.conv2d(x, w, b.data, options));
          const { cache } = await check('conv2dForward', [x, w, b], () => api.conv2dForward(x, w, b, options));
          await check('conv2dBackward', [dOut, x, w, b, cache.x, cache.w], () => api.conv2dBackward(dOut, cache));
          await check('conv2dBackwardInput', [dOut, w], () => api.conv2dBackwardInput(dOut, w, x.shape, options));
          await check('conv2dBackwardFilter', [dOut, x], () => api.conv2dBackwardFilter(dOut, x, w.shape, options));
          await check('maxPool2d', [x], () => api.maxPool2d(x, poolOptions));
          await check('avgPool2d', [x], () => api.avgPool2d(x, poolOptions));
          for (const mode of ['max', 'avg']) {
            const forward = await check(`pool2dForward ${mode}`, [x], () => api.pool2dForward(x, { ...poolOptions, mode }));
            const cached = forward.cache.argmax ? [forward.cache.argmax] : [];
            await check(`pool2dBackward ${mode}`, [poolDOut, ...cached], () => api.pool2dBackward(poolDOut, forward.cache));
          }
          assert.deepStrictEqual({ options, poolOptions }, optionsCopy, 'options objects were modified');
        });
      }
    }
  }

  it('accepts views that start inside their buffer (byteOffset != 0)', async function () {
    const { x, w, b, dOut, options } = fixtures('float64', 'NHWC');
    const view = (t) => {
      const backing = new Float64Array(t.data.length + 3);
      backing.set(t.data, 3);
      return convkit.tensor(backing.subarray(3), t.shape, { layout: t.layout });
    };
    const expected = convkit.conv2dForward(x, w, b, options);
    const expectedGrads = convkit.conv2dBackward(dOut, expected.cache);
    for (const api of [convkit, convkit.async]) {
      const got = await api.conv2dForward(view(x), view(w), view(b), options);
      assertAllClose(got.output.data, expected.output.data, TOLERANCE.float64, 'output');
      const grads = await api.conv2dBackward(view(dOut), got.cache);
      for (const name of ['dx', 'dw', 'db']) assertAllClose(grads[name].data, expectedGrads[name].data, TOLERANCE.float64, name);
    }
  });
});
