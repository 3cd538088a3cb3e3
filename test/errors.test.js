'use strict';
// Every bad call throws a ConvkitError with the right code and a message naming the argument; the
// async twin rejects with the same code; the next valid call still works.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const convkit = require('../dist');
const { rng, randomArray, thrown, rejected, assertExactlyEqual } = require('./helpers');

const { ConvkitError, tensor } = convkit;
const random = rng(5);
const f32 = (count) => randomArray(random, count, Float32Array);
const f64 = (count) => randomArray(random, count, Float64Array);

// A valid NHWC float32 convolution: x [1, 5, 5, 3], w HWIO [3, 3, 3, 4], b [4].
const x = tensor(f32(75), [1, 5, 5, 3]);
const w = tensor(f32(108), [3, 3, 3, 4]);
const b = tensor(f32(4), [4]);
const convOut = { data: f32(100), shape: [1, 5, 5, 4] }; // dOut for padding 1
const pool = { kernelSize: 2 };
const poolOut = { data: f32(3 * 4), shape: [1, 2, 2, 3] }; // dOut for the 2x2 pool of x
const { cache: convCache } = convkit.conv2dForward(x, w, b, { padding: 1 });
const { cache: maxCache } = convkit.pool2dForward(x, { ...pool, mode: 'max' });
const huge = 2 ** 30;

/** [description, op, args, code, text the message must contain] */
const CASES = [
  // Tensors: type, rank, sizes, data length.
  ['x not a tensor', 'conv2d', [42, w, b], 'ERR_ARG', 'x'],
  ['x null', 'conv2d', [null, w, b], 'ERR_ARG', 'x'],
  ['x data not a float array', 'conv2d', [{ data: new Int32Array(75), shape: [1, 5, 5, 3] }, w, b], 'ERR_DTYPE', 'x.data'],
  ['x data a plain array', 'conv2d', [{ data: Array(75).fill(0), shape: [1, 5, 5, 3] }, w, b], 'ERR_DTYPE', 'x.data'],
  ['x of rank 3', 'conv2d', [{ data: f32(75), shape: [5, 5, 3] }, w, b], 'ERR_SHAPE', 'x must have 4 dimensions'],
  ['w of rank 3', 'conv2d', [x, { data: f32(36), shape: [3, 3, 4] }, b], 'ERR_SHAPE', 'w must have 4 dimensions [KH, KW, Cin/groups, Cout]'],
  [
    'w of rank 5 (NCHW)',
    'conv2d',
    [{ data: f32(75), shape: [1, 3, 5, 5] }, { data: f32(108), shape: [4, 3, 3, 3, 1] }, b, { layout: 'NCHW' }],
    'ERR_SHAPE',
    '[Cout, Cin/groups, KH, KW]',
  ],
  ['x data shorter than its shape', 'conv2d', [{ data: f32(74), shape: [1, 5, 5, 3] }, w, b], 'ERR_SHAPE', 'x has shape [1, 5, 5, 3]'],
  ['w data longer than its shape', 'conv2d', [x, { data: f32(109), shape: [3, 3, 3, 4] }, b], 'ERR_SHAPE', 'w has shape'],
  ['zero size', 'conv2d', [{ data: f32(0), shape: [0, 5, 5, 3] }, w, b], 'ERR_SHAPE', 'x.shape[0]'],
  ['negative size', 'conv2d', [{ data: f32(75), shape: [-1, 5, 5, -3] }, w, b], 'ERR_SHAPE', 'x.shape[0]'],
  ['fractional size', 'conv2d', [{ data: f32(75), shape: [1, 2.5, 10, 3] }, w, b], 'ERR_SHAPE', 'x.shape[1]'],
  ['NaN size', 'conv2d', [x, { data: f32(108), shape: [3, NaN, 3, 4] }, b], 'ERR_SHAPE', 'w.shape[1]'],
  ['string size', 'conv2d', [x, { data: f32(108), shape: [3, '3', 3, 4] }, b], 'ERR_SHAPE', 'w.shape[1]'],
  // Channels and groups.
  ['channel mismatch', 'conv2d', [x, tensor(f32(144), [3, 3, 4, 4]), b], 'ERR_SHAPE', 'Cin/groups = 3'],
  ['groups not dividing the input channels', 'conv2d', [x, w, b, { groups: 2 }], 'ERR_SHAPE', 'groups'],
  [
    'groups not dividing the output channels',
    'conv2d',
    [tensor(f32(100), [1, 5, 5, 4]), tensor(f32(54), [3, 3, 2, 3]), null, { groups: 2 }],
    'ERR_SHAPE',
    'output channels',
  ],
  ['groups zero', 'conv2d', [x, w, b, { groups: 0 }], 'ERR_ARG', 'options.groups'],
  ['groups fractional', 'conv2d', [x, w, b, { groups: 1.5 }], 'ERR_ARG', 'options.groups'],
  // Options.
  ['stride zero', 'conv2d', [x, w, b, { stride: 0 }], 'ERR_ARG', 'options.stride'],
  ['stride NaN', 'conv2d', [x, w, b, { stride: [1, NaN] }], 'ERR_ARG', 'options.stride'],
  ['stride of three numbers', 'conv2d', [x, w, b, { stride: [1, 1, 1] }], 'ERR_ARG', 'options.stride'],
  ['negative padding', 'conv2d', [x, w, b, { padding: -1 }], 'ERR_ARG', 'options.padding'],
  ['unknown padding string', 'conv2d', [x, w, b, { padding: 'full' }], 'ERR_ARG', 'options.padding'],
  ["'same' with stride 2", 'conv2d', [x, w, b, { padding: 'same', stride: 2 }], 'ERR_ARG', "padding 'same'"],
  ['dilation zero', 'conv2d', [x, w, b, { dilation: 0 }], 'ERR_ARG', 'options.dilation'],
  ['kernel larger than the padded input', 'conv2d', [x, tensor(f32(3 * 36 * 4), [6, 6, 3, 4]), b], 'ERR_SHAPE', 'padded input'],
  ['dilated kernel larger than the padded input', 'conv2d', [x, w, b, { dilation: 3 }], 'ERR_SHAPE', 'padded input'],
  ['options not an object', 'conv2d', [x, w, b, 'NHWC'], 'ERR_ARG', 'options'],
  // Layouts.
  ['unknown layout', 'conv2d', [x, w, b, { layout: 'NWHC' }], 'ERR_ARG', 'layout'],
  ['unknown tensor layout', 'conv2d', [{ data: x.data, shape: x.shape, layout: 'CHWN' }, w, b], 'ERR_ARG', 'layout'],
  ['tensor layout contradicting options.layout', 'conv2d', [x, w, b, { layout: 'NCHW' }], 'ERR_ARG', 'x.layout'],
  // Bias.
  ['bias of the wrong length', 'conv2d', [x, w, f32(3)], 'ERR_SHAPE', 'b'],
  ['bias of the wrong shape', 'conv2d', [x, w, { data: f32(4), shape: [2, 2] }], 'ERR_SHAPE', 'b'],
  ['bias a number', 'conv2d', [x, w, 4], 'ERR_ARG', 'b'],
  // Dtypes.
  ['mixed dtypes x/w', 'conv2d', [x, tensor(f64(108), [3, 3, 3, 4]), b], 'ERR_DTYPE', 'w must be float32'],
  ['mixed dtypes x/b', 'conv2d', [x, w, f64(4)], 'ERR_DTYPE', 'b must be float32'],
  ['mixed dtypes dOut/cache', 'conv2dBackward', [{ data: f64(100), shape: [1, 5, 5, 4] }, convCache], 'ERR_DTYPE', 'dOut'],
  // Caches.
  ['conv backward given a pool cache', 'conv2dBackward', [convOut, maxCache], 'ERR_CACHE', 'Conv2dCache'],
  ['pool backward given a conv cache', 'pool2dBackward', [poolOut, convCache], 'ERR_CACHE', 'Pool2dCache'],
  ['conv backward given a plain object', 'conv2dBackward', [convOut, { kind: 'conv2d' }], 'ERR_CACHE', 'cache'],
  ['pool backward given null', 'pool2dBackward', [poolOut, null], 'ERR_CACHE', 'cache'],
  ['dOut of the wrong shape', 'conv2dBackward', [{ data: f32(100), shape: [1, 5, 4, 5] }, convCache], 'ERR_SHAPE', 'dOut'],
  ['dOut of the wrong layout', 'pool2dBackward', [{ ...poolOut, layout: 'NCHW' }, maxCache], 'ERR_SHAPE', 'dOut.layout'],
  // Standalone backward ops.
  ['xShape of rank 3', 'conv2dBackwardInput', [convOut, w, [5, 5, 3], { padding: 1 }], 'ERR_SHAPE', 'xShape'],
  ['xShape with a zero', 'conv2dBackwardInput', [convOut, w, [1, 0, 5, 3], { padding: 1 }], 'ERR_SHAPE', 'xShape[1]'],
  ['dOut not matching xShape', 'conv2dBackwardInput', [convOut, w, [1, 5, 5, 3]], 'ERR_SHAPE', 'dOut'],
  ['wShape with the wrong channels', 'conv2dBackwardFilter', [convOut, x, [3, 3, 2, 4], { padding: 1 }], 'ERR_SHAPE', 'Cin/groups'],
  // Pooling.
  ['pool without options', 'maxPool2d', [x], 'ERR_ARG', 'options.kernelSize'],
  ['pool without kernelSize', 'avgPool2d', [x, {}], 'ERR_ARG', 'options.kernelSize'],
  ['pool kernelSize zero', 'maxPool2d', [x, { kernelSize: 0 }], 'ERR_ARG', 'options.kernelSize'],
  ['pool padding over half the kernel', 'maxPool2d', [x, { kernelSize: 2, padding: 2 }], 'ERR_ARG', 'options.padding'],
  ['pool kernel larger than the padded input', 'avgPool2d', [x, { kernelSize: 7, padding: 0 }], 'ERR_SHAPE', 'padded input'],
  ['pool ceilMode not a boolean', 'maxPool2d', [x, { kernelSize: 2, ceilMode: 'yes' }], 'ERR_ARG', 'options.ceilMode'],
  ['pool unknown mode', 'pool2dForward', [x, { ...pool, mode: 'min' }], 'ERR_ARG', 'options.mode'],
  ['pool missing mode', 'pool2dForward', [x, pool], 'ERR_ARG', 'options.mode'],
  // Zero padding.
  ['zeroPad negative', 'zeroPad', [x, -1], 'ERR_ARG', 'pad'],
  ['zeroPad fractional', 'zeroPad', [x, [1, 0.5]], 'ERR_ARG', 'pad'],
  ['zeroPad missing', 'zeroPad', [x], 'ERR_ARG', 'pad'],
  // Absurd sizes: refused before anything is allocated.
  ['zeroPad to more than 2^32 elements', 'zeroPad', [x, huge], 'ERR_TOO_LARGE', 'output'],
  ['conv output past 2^32 elements', 'conv2d', [x, w, b, { padding: huge }], 'ERR_TOO_LARGE', 'output'],
  ['conv padding past 2^31', 'conv2d', [x, w, b, { padding: 2 ** 40 }], 'ERR_TOO_LARGE', 'options.padding'],
  ['stride past 2^31', 'conv2d', [x, w, b, { stride: 1e300 }], 'ERR_TOO_LARGE', 'options.stride'],
  [
    'xShape needing absurd memory',
    'conv2dBackwardInput',
    [{ data: f32(4), shape: [1, 1, 1, 4] }, tensor(f32(12), [1, 1, 3, 4]), [1, huge, huge, 3], { stride: huge }],
    'ERR_TOO_LARGE',
    'dx',
  ],
];

function baseline() {
  return convkit.conv2d(x, w, b, { padding: 1 });
}

describe('errors', function () {
  const expected = baseline();

  it('ConvkitError is an Error with a code and a name', function () {
    const error = thrown(() => convkit.conv2d(null, w, b));
    assert.ok(error instanceof Error);
    assert.ok(error instanceof ConvkitError);
    assert.strictEqual(error.name, 'ConvkitError');
    assert.strictEqual(typeof error.code, 'string');
  });

  for (const [description, op, args, code, mentions] of CASES) {
    it(`${op}: ${description} -> ${code}`, async function () {
      const syncError = thrown(() => convkit[op](...args));
      assert.ok(syncError instanceof ConvkitError, `${op} threw ${syncError && syncError.stack}`);
      assert.strictEqual(syncError.code, code, syncError.message);
      assert.ok(syncError.message.startsWith(`${op}: `), `message should name the op: ${syncError.message}`);
      assert.ok(syncError.message.includes(mentions), `message should mention ${JSON.stringify(mentions)}: ${syncError.message}`);

      let promise;
      assert.doesNotThrow(() => {
        promise = convkit.async[op](...args);
      }, 'the async twin must reject, not throw');
      const asyncError = await rejected(promise);
      assert.ok(asyncError instanceof ConvkitError);
      assert.strictEqual(asyncError.code, code);
      assert.strictEqual(asyncError.message, syncError.message);

      // The failure left nothing behind: a valid call still gives the same result.
      assertExactlyEqual(baseline().data, expected.data, 'valid call after the error');
      assertExactlyEqual((await convkit.async.conv2d(x, w, b, { padding: 1 })).data, expected.data, 'valid async call after the error');
    });
  }

  it('a detached cached array is refused with ERR_CACHE', function () {
    const data = f32(75);
    const { cache } = convkit.pool2dForward(tensor(data, [1, 5, 5, 3]), { kernelSize: 2, mode: 'max' });
    structuredClone(cache.argmax.buffer, { transfer: [cache.argmax.buffer] });
    const error = thrown(() => convkit.pool2dBackward(poolOut, cache));
    assert.strictEqual(error.code, 'ERR_CACHE', error.message);
  });

  it('a missing native addon is reported with how to build it', function () {
    // A copy of dist/ outside the package has no build/ next to it.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'convkit-no-addon-'));
    try {
      fs.cpSync(path.resolve(__dirname, '../dist'), path.join(root, 'dist'), { recursive: true });
      const detached = require(path.join(root, 'dist'));
      assert.strictEqual(detached.tensor([1, 2]).size, 2, 'tensor() works without the addon');
      const error = thrown(() => detached.conv2d(x, w, b));
      assert.strictEqual(error.code, 'ERR_NATIVE_MISSING', error.message);
      assert.ok(error.message.includes('npm run build:native') && error.message.includes('npm run build:cmake'), error.message);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('reports the runtime: isa, supported isas, build info', function () {
    assert.ok(convkit.supportedIsas().includes(convkit.isa()), `isa() = ${convkit.isa()}, supported: ${convkit.supportedIsas()}`);
    assert.strictEqual(typeof convkit.buildInfo(), 'object');
  });
});
