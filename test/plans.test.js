'use strict';
// One case per convolution algorithm: conv2dPlan must report the algorithm the case is meant to
// cover (so a change in the choice is seen, not silently moved to another path), and the op it
// names must match the plain reference. CI runs this file on every ISA (CONVKIT_ISA), with 1 and
// 2 threads, in float32 and float64.
const assert = require('assert');
const convkit = require('..');
const naive = require('./reliability/naive');
const { assertAllClose, distinctArray, randomArray, rng, product } = require('./helpers');

// pass, layout, n, c, h, w, cout, kernel, stride, pad, dilation, groups -> the algorithm.
const CASES = [
  ['direct', 'forward', 'NHWC', 4, 3, 24, 24, 6, 5, 1, 0, 1, 1],
  ['direct', 'forward', 'NCHW', 4, 3, 24, 24, 6, 5, 1, 2, 1, 1],
  ['depthwise', 'forward', 'NHWC', 2, 32, 32, 32, 32, 3, 1, 1, 1, 32],
  ['depthwise', 'forward', 'NCHW', 2, 16, 32, 32, 32, 3, 1, 1, 1, 16],
  ['gemm_nhwc_band', 'forward', 'NHWC', 2, 8, 16, 16, 24, 3, 1, 1, 1, 1],
  ['gemm_nhwc_im2col', 'forward', 'NHWC', 2, 64, 3, 3, 32, 3, 1, 40, 40, 1],
  ['gemm_nchw', 'forward', 'NCHW', 2, 8, 16, 16, 24, 3, 1, 1, 1, 1],
  ['direct', 'backwardInput', 'NHWC', 4, 6, 24, 24, 16, 3, 1, 1, 1, 1],
  ['depthwise', 'backwardInput', 'NHWC', 2, 32, 32, 32, 32, 3, 1, 1, 1, 32],
  ['depthwise', 'backwardInput', 'NCHW', 2, 32, 32, 32, 32, 3, 2, 1, 1, 32],
  ['dx_as_forward', 'backwardInput', 'NHWC', 2, 24, 16, 16, 8, 3, 1, 1, 1, 1],
  ['col2im_nhwc', 'backwardInput', 'NHWC', 2, 24, 32, 32, 32, 3, 2, 1, 1, 1],
  ['col2im_nhwc', 'backwardInput', 'NHWC', 2, 64, 3, 3, 32, 3, 1, 40, 40, 1],
  ['col2im_nchw', 'backwardInput', 'NCHW', 2, 24, 16, 16, 32, 3, 1, 1, 1, 1],
  ['direct', 'backwardFilter', 'NHWC', 4, 3, 24, 24, 6, 5, 1, 2, 1, 1],
  ['direct', 'backwardFilter', 'NCHW', 4, 8, 24, 24, 16, 3, 1, 1, 1, 2],
  ['depthwise', 'backwardFilter', 'NHWC', 2, 32, 32, 32, 32, 3, 1, 1, 1, 32],
  ['depthwise', 'backwardFilter', 'NCHW', 2, 16, 32, 32, 32, 3, 1, 1, 1, 16],
  ['filter_gemm_nhwc', 'backwardFilter', 'NHWC', 2, 8, 16, 16, 24, 3, 1, 1, 1, 1],
  ['filter_gemm_nchw', 'backwardFilter', 'NCHW', 2, 8, 16, 16, 24, 3, 1, 1, 1, 1],
];

// Every algorithm of native/kernels/plan.hpp.
const ALGORITHMS = [
  'direct',
  'depthwise',
  'gemm_nhwc_band',
  'gemm_nhwc_im2col',
  'gemm_nchw',
  'dx_as_forward',
  'col2im_nhwc',
  'col2im_nchw',
  'filter_gemm_nhwc',
  'filter_gemm_nchw',
];

function shapes(layout, n, c, h, w, cout, k, groups) {
  return layout === 'NHWC' ? { x: [n, h, w, c], w: [k, k, c / groups, cout] } : { x: [n, c, h, w], w: [cout, c / groups, k, k] };
}

describe('conv2dPlan: one case per algorithm, path and values', function () {
  const original = convkit.getNumThreads();
  after(() => convkit.setNumThreads(original));

  it('every algorithm has a case', function () {
    assert.deepStrictEqual([...new Set(CASES.map((c) => c[0]))].sort(), [...ALGORITHMS].sort());
  });

  for (const [algorithm, pass, layout, n, c, h, w, cout, k, stride, pad, dilation, groups] of CASES) {
    for (const dtype of ['float32', 'float64']) {
      const name = `${algorithm}: ${pass} ${layout} n${n} c${c}->${cout} ${h}x${w} k${k} s${stride} p${pad} d${dilation} g${groups} ${dtype}`;
      it(name, function () {
        const Ctor = dtype === 'float32' ? Float32Array : Float64Array;
        const random = rng(h * 1000 + c * 10 + k);
        const s = shapes(layout, n, c, h, w, cout, k, groups);
        const options = { layout, stride, padding: pad, dilation, groups };
        const x = convkit.tensor(randomArray(random, product(s.x), Ctor), s.x, { layout });
        const wt = convkit.tensor(randomArray(random, product(s.w), Ctor), s.w, { layout });
        const ref = naive.conv2d(x.data, s.x, wt.data, s.w, null, layout, options);
        const dy = convkit.tensor(randomArray(random, ref.data.length, Ctor), ref.shape, { layout });
        const grads = naive.conv2dBackward(dy.data, x.data, s.x, wt.data, s.w, false, layout, options);
        const tolerance = dtype === 'float32' ? { rel: 1e-4, abs: 1e-4 } : { rel: 1e-11, abs: 1e-11 };
        for (const threads of [1, 2]) {
          convkit.setNumThreads(threads);
          const plan = convkit.conv2dPlan(x, wt, options);
          assert.strictEqual(plan.isa, convkit.isa());
          assert.strictEqual(plan.dtype, dtype);
          assert.strictEqual(plan[pass].algorithm, algorithm, `${threads} threads: plan chose ${plan[pass].algorithm}`);
          assert.ok(plan[pass].threads === 1 || plan[pass].threads === threads, `threads ${plan[pass].threads}`);
          for (const p of ['forward', 'backwardInput', 'backwardFilter']) {
            const bytes = plan[p].workspaceBytes;
            assert.ok(Number.isSafeInteger(bytes) && bytes >= 0, `${threads} threads: ${p} workspaceBytes ${bytes}`);
          }
          const label = `${threads} threads`;
          if (pass === 'forward') assertAllClose(convkit.conv2d(x, wt, null, options).data, ref.data, tolerance, `${label} y`);
          if (pass === 'backwardInput') assertAllClose(convkit.conv2dBackwardInput(dy, wt, s.x, options).data, grads.dx, tolerance, `${label} dx`);
          if (pass === 'backwardFilter') assertAllClose(convkit.conv2dBackwardFilter(dy, x, s.w, options).data, grads.dw, tolerance, `${label} dw`);
        }
      });
    }
  }

  it('workspaceBytes: within the memory limit, and per-thread partials grow it on 2 threads', function () {
    // A 3x3 NHWC layer's dw: every thread sums into its own partial dw and packs its own tiles
    // (native/kernels/conv/backward_filter.hpp), so a second thread adds at least one dw.
    const x = convkit.tensor(new Float32Array(8 * 32 * 32 * 64), [8, 32, 32, 64]);
    const w = convkit.tensor(new Float32Array(3 * 3 * 64 * 64), [3, 3, 64, 64]);
    const options = { padding: 1 };
    convkit.setNumThreads(1);
    const one = convkit.conv2dPlan(x, w, options).backwardFilter;
    convkit.setNumThreads(2);
    const two = convkit.conv2dPlan(x, w, options).backwardFilter;
    assert.strictEqual(one.algorithm, 'filter_gemm_nhwc');
    assert.strictEqual(two.algorithm, 'filter_gemm_nhwc');
    assert.strictEqual(two.threads, 2);
    assert.ok(one.workspaceBytes > 0 && two.workspaceBytes < convkit.getMemoryLimit(), `${one.workspaceBytes}, ${two.workspaceBytes}`);
    assert.ok(two.workspaceBytes >= one.workspaceBytes + w.data.byteLength, `1 thread ${one.workspaceBytes}, 2 threads ${two.workspaceBytes}`);
  });

  it('checks its arguments like the ops', function () {
    const x = convkit.tensor(new Float32Array(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    assert.throws(() => convkit.conv2dPlan(x, convkit.tensor(new Float64Array(27), [3, 3, 3, 1])), { code: 'ERR_DTYPE' });
    assert.throws(() => convkit.conv2dPlan(x, convkit.tensor(new Float32Array(27), [3, 3, 3, 1]), { padding: -1 }), { code: 'ERR_ARG' });
    assert.throws(() => convkit.conv2dPlan(x, convkit.tensor(new Float32Array(36), [3, 3, 4, 1])), { code: 'ERR_SHAPE' });
  });
});

// mode, layout -> the algorithms of the two passes (one case per pool algorithm).
const POOL_CASES = [
  ['max', 'NHWC', { kernelSize: 3, stride: 2, padding: 1 }],
  ['max', 'NCHW', { kernelSize: 2 }],
  ['avg', 'NHWC', { kernelSize: 3, stride: 1, padding: 1 }],
  ['avg', 'NCHW', { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }],
];

describe('pool2dPlan: one case per algorithm, path and values', function () {
  const original = convkit.getNumThreads();
  after(() => convkit.setNumThreads(original));

  for (const [mode, layout, poolOptions] of POOL_CASES) {
    for (const dtype of ['float32', 'float64']) {
      it(`${mode} ${layout} ${JSON.stringify(poolOptions)} ${dtype}`, function () {
        const Ctor = dtype === 'float32' ? Float32Array : Float64Array;
        const random = rng(mode === 'max' ? 11 : 12);
        const [n, c, h, w] = [2, 24, 17, 15];
        const shape = layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
        const options = { ...poolOptions, layout, mode };
        // Distinct values: the max has one winner per window, whatever the rounding.
        const x = convkit.tensor(distinctArray(random, product(shape), Ctor), shape, { layout });
        const ref = naive.pool2d(x.data, shape, layout, poolOptions, mode);
        const dy = convkit.tensor(randomArray(random, ref.data.length, Ctor), ref.shape, { layout });
        const dx = naive.pool2dBackward(dy.data, x.data, shape, layout, poolOptions, mode);
        const tolerance = dtype === 'float32' ? { rel: 1e-5, abs: 1e-6 } : { rel: 1e-12, abs: 1e-12 };
        for (const threads of [1, 2]) {
          convkit.setNumThreads(threads);
          const plan = convkit.pool2dPlan(x, options);
          const suffix = layout.toLowerCase();
          assert.strictEqual(plan.forward.algorithm, `${mode}_forward_${suffix}`);
          assert.strictEqual(plan.backward.algorithm, `${mode}_backward_${suffix}`);
          for (const pass of ['forward', 'backward']) {
            assert.ok(plan[pass].threads === 1 || plan[pass].threads === threads, `${pass} threads ${plan[pass].threads}`);
            assert.ok(Number.isSafeInteger(plan[pass].workspaceBytes) && plan[pass].workspaceBytes >= 0);
          }
          const { output, cache } = convkit.pool2dForward(x, options);
          assertAllClose(output.data, ref.data, tolerance, `${threads} threads y`);
          assertAllClose(convkit.pool2dBackward(dy, cache).data, dx, tolerance, `${threads} threads dx`);
        }
      });
    }
  }

  it('checks its arguments like the ops', function () {
    const x = convkit.tensor(new Float32Array(2 * 8 * 8 * 3), [2, 8, 8, 3]);
    assert.throws(() => convkit.pool2dPlan(x, { kernelSize: 2 }), { code: 'ERR_ARG' });
    assert.throws(() => convkit.pool2dPlan(x, { kernelSize: 9, mode: 'max' }), { code: 'ERR_SHAPE' });
  });
});
