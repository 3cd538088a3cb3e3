'use strict';
// options.out: forwards write into a caller's tensor, with the bits of a fresh output.
const assert = require('assert');
const convkit = require('../dist');
const { assertExactlyEqual, randomArray, rng } = require('./helpers');

function randomTensor(random, shape, Ctor, layout) {
  return convkit.tensor(
    randomArray(
      random,
      shape.reduce((a, b) => a * b),
      Ctor,
    ),
    shape,
    { layout },
  );
}

/** A tensor of the shape and layout of `like`, full of NaN (so a skipped element shows). */
function poisoned(like) {
  const data = new like.data.constructor(like.size).fill(NaN);
  return convkit.tensor(data, like.shape.slice(), { layout: like.layout });
}

describe('options.out', function () {
  const random = rng(77);

  for (const layout of ['NHWC', 'NCHW']) {
    for (const Ctor of [Float32Array, Float64Array]) {
      const xShape = layout === 'NHWC' ? [2, 9, 10, 20] : [2, 20, 9, 10];
      const wShape = layout === 'NHWC' ? [3, 3, 20, 24] : [24, 20, 3, 3];
      const dtype = Ctor.name;

      it(`conv2d, maxPool2d and avgPool2d fill out with the bits of a fresh output (${layout} ${dtype})`, async function () {
        const x = randomTensor(random, xShape, Ctor, layout);
        const w = randomTensor(random, wShape, Ctor, layout);
        const b = randomArray(random, 24, Ctor);
        const convOptions = { layout, padding: 1, stride: [1, 2] };
        const expected = convkit.conv2d(x, w, b, convOptions);
        const out = poisoned(expected);
        const result = convkit.conv2d(x, w, b, { ...convOptions, out });
        assert.strictEqual(result, out, 'returns the given Tensor');
        assertExactlyEqual(out.data, expected.data, 'conv2d');
        // Async, and a plain { data, shape } (a Tensor over the same array comes back).
        const plain = { data: new Ctor(expected.size).fill(NaN), shape: expected.shape.slice() };
        const fromAsync = await convkit.async.conv2d(x, w, b, { ...convOptions, out: plain });
        assert.strictEqual(fromAsync.data, plain.data);
        assert.strictEqual(fromAsync.layout, layout);
        assertExactlyEqual(plain.data, expected.data, 'async conv2d');

        for (const [name, pool] of [
          ['maxPool2d', convkit.maxPool2d],
          ['avgPool2d', convkit.avgPool2d],
        ]) {
          const poolOptions = { layout, kernelSize: 3, stride: 2, padding: 1 };
          const fresh = pool(x, poolOptions);
          const into = poisoned(fresh);
          pool(x, { ...poolOptions, out: into });
          assertExactlyEqual(into.data, fresh.data, name);
        }
      });
    }
  }

  it('forwards with a cache write into out and still backpropagate', function () {
    const x = randomTensor(random, [1, 6, 6, 4], Float64Array, 'NHWC');
    const w = randomTensor(random, [3, 3, 4, 5], Float64Array, 'NHWC');
    const plainForward = convkit.conv2dForward(x, w, null, { padding: 1 });
    const out = poisoned(plainForward.output);
    const { output, cache } = convkit.conv2dForward(x, w, null, { padding: 1, out });
    assert.strictEqual(output, out);
    const dOut = randomTensor(random, output.shape, Float64Array, 'NHWC');
    assertExactlyEqual(convkit.conv2dBackward(dOut, cache).dw.data, convkit.conv2dBackward(dOut, plainForward.cache).dw.data, 'dw');

    const pooled = convkit.pool2dForward(x, { kernelSize: 2, mode: 'max' });
    const pooledOut = poisoned(pooled.output);
    const intoOut = convkit.pool2dForward(x, { kernelSize: 2, mode: 'max', out: pooledOut });
    const dPool = randomTensor(random, pooled.output.shape, Float64Array, 'NHWC');
    assertExactlyEqual(convkit.pool2dBackward(dPool, intoOut.cache).data, convkit.pool2dBackward(dPool, pooled.cache).data, 'pool dx');
  });

  it('refuses an out of another shape, dtype or layout, or one sharing memory with an input', async function () {
    const x = randomTensor(random, [1, 5, 5, 3], Float32Array, 'NHWC');
    const w = randomTensor(random, [3, 3, 3, 2], Float32Array, 'NHWC');
    const good = convkit.conv2d(x, w);
    assert.throws(() => convkit.conv2d(x, w, null, { out: convkit.tensor(new Float32Array(2 * 3 * 3), [1, 3, 2, 3]) }), {
      code: 'ERR_SHAPE',
      message: /options\.out must have the output's shape \[1, 3, 3, 2\], got \[1, 3, 2, 3\]/,
    });
    assert.throws(() => convkit.conv2d(x, w, null, { out: convkit.tensor(new Float64Array(18), [1, 3, 3, 2]) }), {
      code: 'ERR_DTYPE',
      message: /options\.out/,
    });
    assert.throws(() => convkit.conv2d(x, w, null, { out: convkit.tensor(new Float32Array(18), [1, 3, 3, 2], { layout: 'NCHW' }) }), {
      code: 'ERR_ARG',
      message: /options\.out\.layout/,
    });
    assert.throws(() => convkit.conv2d(x, w, null, { out: 'y' }), { code: 'ERR_ARG', message: /options\.out/ });
    // An out over x's own memory.
    const shared = { data: new Float32Array(x.data.buffer, x.data.byteOffset, 18), shape: [1, 3, 3, 2] };
    assert.throws(() => convkit.conv2d(x, w, null, { out: shared }), { code: 'ERR_ARG', message: /must not share memory with x/ });
    await assert.rejects(convkit.async.maxPool2d(x, { kernelSize: 2, out: { data: x.data.subarray(0, 12), shape: [1, 2, 2, 3] } }), {
      code: 'ERR_ARG',
      message: /must not share memory with x/,
    });
    // Ops that allocate their results refuse it rather than ignore it.
    assert.throws(() => convkit.conv2dBackwardInput(good, w, x.shape, { out: x }), { code: 'ERR_ARG', message: /options\.out/ });
    assert.throws(() => convkit.conv2dBackwardFilter(good, x, w.shape, { out: w }), { code: 'ERR_ARG', message: /options\.out/ });
    // The process goes on: a correct call still works.
    assertExactlyEqual(convkit.conv2d(x, w, null, { out: poisoned(good) }).data, good.data, 'after the errors');
  });
});
