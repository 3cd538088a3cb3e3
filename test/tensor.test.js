'use strict';
// tensor(): what it accepts, what it infers, when it copies, and what it refuses.
const assert = require('assert');
const convkit = require('../dist');
const { thrown } = require('./helpers');

const { tensor, Tensor, ConvkitError } = convkit;

function assertCode(fn, code, mentions) {
  const error = thrown(fn);
  assert.ok(error instanceof ConvkitError, `threw ${error}`);
  assert.strictEqual(error.code, code, error.message);
  if (mentions) assert.ok(error.message.includes(mentions), `message should mention ${mentions}: ${error.message}`);
}

describe('tensor()', function () {
  it('uses a Float32Array or Float64Array as is, without copying', function () {
    for (const Ctor of [Float32Array, Float64Array]) {
      const data = new Ctor(24);
      const t = tensor(data, [2, 3, 2, 2]);
      assert.ok(t instanceof Tensor);
      assert.strictEqual(t.data, data);
      assert.strictEqual(t.dtype, Ctor === Float64Array ? 'float64' : 'float32');
      assert.deepStrictEqual(t.shape, [2, 3, 2, 2]);
      assert.strictEqual(t.size, 24);
      assert.strictEqual(t.rank, 4);
      const same = tensor(data, [24], { dtype: t.dtype });
      assert.strictEqual(same.data, data, 'a matching dtype option does not copy');
    }
  });

  it('shapes a flat typed array as 1-D when no shape is given', function () {
    assert.deepStrictEqual(tensor(new Float32Array(5)).shape, [5]);
  });

  it('converts to the requested dtype (a copy)', function () {
    const data = Float32Array.from([1.5, -2, 3.25]);
    const t = tensor(data, undefined, { dtype: 'float64' });
    assert.ok(t.data instanceof Float64Array);
    assert.deepStrictEqual(Array.from(t.data), [1.5, -2, 3.25]);
    const back = tensor(t.data, [3], { dtype: 'float32' });
    assert.ok(back.data instanceof Float32Array);
    assert.notStrictEqual(back.data, data);
  });

  it('converts other numeric typed arrays to float32 by default', function () {
    const t = tensor(Int32Array.from([1, 2, 3, 4]), [2, 2]);
    assert.ok(t.data instanceof Float32Array);
    assert.deepStrictEqual(Array.from(t.data), [1, 2, 3, 4]);
  });

  it('builds float32 from number arrays unless dtype says float64', function () {
    const flat = tensor([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
    assert.ok(flat.data instanceof Float32Array);
    assert.deepStrictEqual(flat.shape, [1, 2, 3, 1]);
    const wide = tensor([0.1, 0.2], [2], { dtype: 'float64' });
    assert.ok(wide.data instanceof Float64Array);
    assert.strictEqual(wide.data[0], 0.1);
  });

  it('infers the shape of nested arrays', function () {
    const t = tensor([
      [
        [[1], [2]],
        [[3], [4]],
      ],
    ]);
    assert.deepStrictEqual(t.shape, [1, 2, 2, 1]);
    assert.deepStrictEqual(Array.from(t.data), [1, 2, 3, 4]);
    assert.deepStrictEqual(t.toArray(), [
      [
        [[1], [2]],
        [[3], [4]],
      ],
    ]);
  });

  it('lets a shape reshape nested arrays with the same element count', function () {
    assert.deepStrictEqual(
      tensor(
        [
          [1, 2],
          [3, 4],
        ],
        [4],
      ).shape,
      [4],
    );
  });

  it('reads elements by index with get()', function () {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.strictEqual(t.get(1, 2), 6);
    assert.strictEqual(t.get(0, 1), 2);
    assertCode(() => t.get(2, 0), 'ERR_ARG', 'index[0]');
    assertCode(() => t.get(0), 'ERR_ARG', 'index');
  });

  it('takes the layout from options, NHWC by default', function () {
    assert.strictEqual(tensor([1]).layout, 'NHWC');
    assert.strictEqual(tensor([1], [1], { layout: 'NCHW' }).layout, 'NCHW');
  });

  it('refuses ragged nested arrays with ERR_SHAPE', function () {
    assertCode(() => tensor([[1, 2], [3]]), 'ERR_SHAPE', 'ragged');
    assertCode(() => tensor([[1, 2], 3]), 'ERR_SHAPE', 'ragged');
    assertCode(() => tensor([1, [2]]), 'ERR_SHAPE', 'ragged');
  });

  it('refuses a shape that does not match the data length', function () {
    assertCode(() => tensor([1, 2, 3], [2, 2]), 'ERR_SHAPE', '[2, 2]');
    assertCode(() => tensor(new Float64Array(5), [1, 2, 3]), 'ERR_SHAPE', 'shape');
  });

  it('refuses bad shape entries', function () {
    for (const bad of [-1, 1.5, NaN, '2', null]) assertCode(() => tensor([1, 2], [bad, 2]), 'ERR_SHAPE', 'shape[0]');
    assertCode(() => tensor([1], 'NHWC'), 'ERR_SHAPE', 'shape');
  });

  it('refuses non-numeric elements and non-array data', function () {
    assertCode(() => tensor([1, 'a']), 'ERR_DTYPE', 'number');
    assertCode(() => tensor('1234'), 'ERR_ARG', 'data');
    assertCode(() => tensor(new BigInt64Array(2)), 'ERR_DTYPE', 'data');
  });

  it('refuses unknown layouts and dtypes with ERR_ARG', function () {
    assertCode(() => tensor([1], [1], { layout: 'HWCN' }), 'ERR_ARG', 'layout');
    assertCode(() => tensor([1], [1], { dtype: 'float16' }), 'ERR_ARG', 'dtype');
  });

  it('plain { data, shape } objects work wherever a Tensor does', function () {
    const x = { data: Float64Array.from({ length: 2 * 3 * 4 * 4 }, (_, i) => Math.sin(i)), shape: [2, 3, 4, 4] };
    const w = { data: Float64Array.from({ length: 5 * 3 * 3 * 3 }, (_, i) => Math.cos(i)), shape: [5, 3, 3, 3] };
    const options = { layout: 'NCHW', padding: 1 };
    const plain = convkit.conv2d(x, w, null, options);
    const tensors = convkit.conv2d(tensor(x.data, x.shape, { layout: 'NCHW' }), tensor(w.data, w.shape), null, options);
    assert.strictEqual(plain.layout, 'NCHW');
    assert.deepStrictEqual(plain.shape, tensors.shape);
    assert.deepStrictEqual(plain.data, tensors.data);
  });
});
