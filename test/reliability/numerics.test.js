'use strict';
// IEEE special values propagate as in PyTorch, and float32 accumulation over long reductions
// stays within the reference tolerance of a float64 computation.
const assert = require('assert');
const convkit = require('../../dist');
const naive = require('./naive');
const { rng, randomArray, assertAllClose, TOLERANCE } = require('../helpers');

const LAYOUTS = ['NHWC', 'NCHW'];
const DTYPES = [Float32Array, Float64Array];

function shapeOf(layout, n, c, h, w) {
  return layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
}

/** NaN matches NaN, infinities match exactly, finite values within the dtype's tolerance. */
function assertSpecialsMatch(actual, expected, Ctor, label) {
  const tolerance = Ctor === Float64Array ? TOLERANCE.float64 : TOLERANCE.float32;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i],
      a = actual[i];
    if (Number.isNaN(e)) assert.ok(Number.isNaN(a), `${label}[${i}]: ${a}, expected NaN`);
    else if (!Number.isFinite(e)) assert.strictEqual(a, e, `${label}[${i}]`);
    else assert.ok(Math.abs(a - e) <= tolerance.abs + tolerance.rel * Math.abs(e), `${label}[${i}]: ${a}, expected ${e}`);
  }
}

describe('numerics', function () {
  this.timeout(60000);

  for (const layout of LAYOUTS)
    for (const Ctor of DTYPES) {
      const label = `${layout} ${Ctor.name}`;

      it(`conv2d propagates NaN and +-inf from x, and leaves no trace in the next call (${label})`, function () {
        const random = rng(7);
        // Large enough for the GEMM path (not only the direct kernels), with 1x1 and depthwise too.
        for (const [c, cout, k, groups] of [
          [16, 24, 3, 1],
          [8, 8, 3, 8],
          [32, 16, 1, 1],
        ]) {
          const xShape = shapeOf(layout, 2, c, 9, 11);
          const wShape = layout === 'NHWC' ? [k, k, c / groups, cout] : [cout, c / groups, k, k];
          const xData = randomArray(
            random,
            xShape.reduce((a, b) => a * b),
            Ctor,
          );
          xData[5] = NaN;
          xData[40] = Infinity;
          xData[41] = -Infinity;
          xData[xData.length - 3] = Infinity;
          const wData = randomArray(
            random,
            wShape.reduce((a, b) => a * b),
            Ctor,
          );
          const options = { padding: 1, groups, layout };
          const y = convkit.conv2d({ data: xData, shape: xShape }, { data: wData, shape: wShape }, null, options);
          const expected = naive.conv2d(xData, xShape, wData, wShape, null, layout, options);
          assertSpecialsMatch(y.data, expected.data, Ctor, `${label} c${c} g${groups} y`);
          assert.ok(y.data.some(Number.isNaN) && y.data.some((v) => v === Infinity || v === -Infinity));
          // Scratch buffers are reused between calls: the specials must not leak into a clean call.
          const clean = Ctor.from(xData, (v) => (Number.isFinite(v) ? v : 0));
          const yClean = convkit.conv2d({ data: clean, shape: xShape }, { data: wData, shape: wShape }, null, options);
          assertSpecialsMatch(yClean.data, naive.conv2d(clean, xShape, wData, wShape, null, layout, options).data, Ctor, `${label} clean`);
        }
      });

      it(`max pooling: a NaN in the window wins, -inf beats padding, backward follows the argmax (${label})`, function () {
        const xShape = shapeOf(layout, 1, 3, 6, 6);
        const xData = new Ctor(108).map((_, i) => (i % 7) - 3);
        xData[0] = NaN; // in the first window
        xData[14] = NaN;
        xData[15] = NaN; // two NaNs in one window: PyTorch keeps the last
        for (let i = 30; i < 36; i++) xData[i] = -Infinity;
        const options = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, layout, mode: 'max' };
        const { output, cache } = convkit.pool2dForward({ data: xData, shape: xShape }, options);
        const ref = naive.pool2d(xData, xShape, layout, options, 'max');
        assertSpecialsMatch(output.data, ref.data, Ctor, `${label} max`);
        assert.deepStrictEqual(Array.from(cache.argmax), Array.from(ref.argmax), 'argmax');
        assert.ok(output.data.some(Number.isNaN), 'some window holds a NaN');
        const dy = new Ctor(output.data.length).fill(1);
        const dx = convkit.pool2dBackward({ data: dy, shape: output.shape }, cache);
        assertSpecialsMatch(dx.data, naive.pool2dBackward(dy, xData, xShape, layout, options, 'max'), Ctor, `${label} max dx`);
        // All -inf windows give -inf (padding never wins), not 0.
        const negative = new Ctor(36).fill(-Infinity);
        const yNeg = convkit.maxPool2d({ data: negative, shape: shapeOf(layout, 1, 1, 6, 6) }, { kernelSize: 2, padding: 1, layout });
        assert.ok(yNeg.data.every((v) => v === -Infinity));
      });

      it(`avg pooling with inf, -inf and NaN (${label})`, function () {
        const xShape = shapeOf(layout, 1, 2, 5, 5);
        const xData = new Ctor(50).map((_, i) => i * 0.5);
        xData[0] = Infinity;
        xData[1] = -Infinity; // inf + -inf in one window: NaN
        xData[12] = Infinity;
        xData[30] = NaN;
        for (const countIncludePad of [true, false]) {
          const options = { kernelSize: 3, stride: 1, padding: 1, countIncludePad, layout };
          const y = convkit.avgPool2d({ data: xData, shape: xShape }, options);
          const ref = naive.pool2d(xData, xShape, layout, options, 'avg');
          assertSpecialsMatch(y.data, ref.data, Ctor, `${label} avg`);
          assert.ok(y.data.some(Number.isNaN) && y.data.some((v) => v === Infinity));
        }
      });
    }

  for (const layout of LAYOUTS) {
    it(`float32 stays within rel 1e-4 / abs 1e-5 of float64 for K = 4608 (3x3 conv, 512 channels, ${layout})`, function () {
      const random = rng(4608);
      const [n, h, w, c, cout] = [1, 6, 6, 512, 24];
      const xShape = shapeOf(layout, n, c, h, w);
      const wShape = layout === 'NHWC' ? [3, 3, c, cout] : [cout, c, 3, 3];
      // Positive data: no cancellation, so the relative tolerance is meaningful for every element.
      const x64 = new Float64Array(n * h * w * c).map(() => random.uniform());
      const w64 = new Float64Array(9 * c * cout).map(() => random.uniform() / 512);
      const x32 = Float32Array.from(x64),
        w32 = Float32Array.from(w64);
      // The float64 reference on the values float32 actually holds.
      const reference = convkit.conv2d({ data: Float64Array.from(x32), shape: xShape }, { data: Float64Array.from(w32), shape: wShape }, null, {
        padding: 1,
        layout,
      });
      const y = convkit.conv2d({ data: x32, shape: xShape }, { data: w32, shape: wShape }, null, { padding: 1, layout });
      assertAllClose(y.data, reference.data, TOLERANCE.float32, 'float32 forward');
      // Backward filter reduces over N*OH*OW and backward input over Cout*9: also long sums.
      const dy32 = new Float32Array(y.data.length).map(() => random.uniform());
      const dw = convkit.conv2dBackwardFilter({ data: dy32, shape: y.shape }, { data: x32, shape: xShape }, wShape, { padding: 1, layout });
      const dw64 = convkit.conv2dBackwardFilter({ data: Float64Array.from(dy32), shape: y.shape }, { data: Float64Array.from(x32), shape: xShape }, wShape, {
        padding: 1,
        layout,
      });
      assertAllClose(dw.data, dw64.data, TOLERANCE.float32, 'float32 dw');
      // The float64 path itself against the naive reference on a slice of the outputs.
      const naiveY = naive.conv2d(Float64Array.from(x32), xShape, Float64Array.from(w32), wShape, null, layout, { padding: 1 });
      assertAllClose(reference.data, naiveY.data, TOLERANCE.float64, 'float64 forward vs naive');
    });
  }
});
