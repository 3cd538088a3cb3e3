'use strict';
// convkit.setMemoryLimit / getMemoryLimit: one limit on any single buffer convkit allocates
// (default 2 GiB). Every output is checked against it before anything is allocated, so a tiny
// input cannot buy gigabytes, and sizes past what a typed array holds are ERR_TOO_LARGE too.
const assert = require('assert');
const convkit = require('../dist');
const { native } = require('../dist/binding');
const { thrown, rejected } = require('./helpers');

const { nn } = convkit;
const one = () => convkit.tensor(new Float32Array([1]), [1, 1, 1, 1]);

describe('memory limit', function () {
  this.timeout(60000);
  afterEach(() => convkit.setMemoryLimit(2 ** 31));

  it('defaults to 2 GiB, takes integers from 1 to 2^53 - 1 and refuses anything else with ERR_ARG', () => {
    assert.strictEqual(convkit.getMemoryLimit(), 2 ** 31);
    for (const bytes of [1, 4096, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      convkit.setMemoryLimit(bytes);
      assert.strictEqual(convkit.getMemoryLimit(), bytes);
      // Where the addon has the setter, it holds the same figure for the kernels' workspaces.
      assert.strictEqual(native().getMemoryLimit(), bytes);
    }
    for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 53, '4096', null, undefined, 10n]) {
      const error = thrown(() => convkit.setMemoryLimit(bad));
      assert.strictEqual(error.code, 'ERR_ARG', String(bad));
      assert.match(error.message, /setMemoryLimit: bytes must be an integer from 1 to 2\^53 - 1/);
    }
    assert.strictEqual(convkit.getMemoryLimit(), Number.MAX_SAFE_INTEGER, 'a refused value changed the limit');
  });

  it('is one limit for the whole process: a worker sees what the main thread set, and its outputs obey it', async () => {
    const { Worker } = require('worker_threads');
    convkit.setMemoryLimit(2 ** 20);
    const source = `
      const { parentPort, workerData } = require('worker_threads');
      const convkit = require(workerData);
      const x = convkit.tensor(new Float32Array(1), [1, 1, 1, 1]);
      let code = null;
      try { convkit.zeroPad(x, 400); } catch (error) { code = error.code; }  // 801^2 * 4 bytes: 2.6 MB
      parentPort.postMessage({ limit: convkit.getMemoryLimit(), code });`;
    const worker = new Worker(source, { eval: true, workerData: require.resolve('../dist') });
    const [reply] = await require('events').once(worker, 'message');
    await worker.terminate();
    assert.deepStrictEqual(reply, { limit: 2 ** 20, code: 'ERR_TOO_LARGE' });
  });

  it('refuses a float32 output past 2^30 elements (4 GiB) with ERR_TOO_LARGE before allocating, sync and async', async () => {
    // 32769^2 elements: a one-element input padded by 16384 on each side.
    const rss = process.memoryUsage().rss;
    const sync = thrown(() => convkit.zeroPad(one(), 16384));
    assert.strictEqual(sync.code, 'ERR_TOO_LARGE', sync.message);
    assert.match(sync.message, /zeroPad: output would need 4295229444 bytes \(1073807361 elements\), more than the memory limit of 2147483648 bytes/);
    const async = await rejected(convkit.async.zeroPad(one(), 16384));
    assert.strictEqual(async.code, 'ERR_TOO_LARGE');
    assert.ok(process.memoryUsage().rss - rss < 64 * 2 ** 20, 'RSS grew: something was allocated');
  });

  it('checks every output against the limit before the kernel runs: one byte under its size is ERR_TOO_LARGE naming it', async () => {
    const x = convkit.tensor(
      Float32Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => i % 7),
      [2, 5, 5, 3],
    );
    const w = convkit.tensor(
      Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => (i % 5) - 2),
      [3, 3, 3, 4],
    );
    const reference = convkit.conv2d(x, w, null, { padding: 1 });
    const { output, cache } = convkit.conv2dForward(x, w, null, { padding: 1 });
    const pooled = convkit.pool2dForward(x, { kernelSize: 1, mode: 'max' });
    const packedBytes = convkit.packConv2dWeights(w).byteLength - w.data.byteLength; // the packed copy (the larger)
    const lin = convkit.linearForward(convkit.tensor(new Float32Array(6 * 40), [6, 40]), convkit.tensor(new Float32Array(50 * 40), [50, 40]));
    // [what, bytes of its largest output, the message naming it, call]. The kernels' own
    // workspaces are bounded natively by the same limit, so only the refusal is checked here.
    const calls = [
      ['conv2d output', reference.data.byteLength, 'conv2d: output', () => convkit.conv2d(x, w, null, { padding: 1 })],
      ['async conv2d output', reference.data.byteLength, 'conv2d: output', () => convkit.async.conv2d(x, w, null, { padding: 1 })],
      ['conv2dBackward dx', x.data.byteLength, 'conv2dBackward: dx', () => convkit.conv2dBackward(output, cache)],
      ['conv2dBackwardFilter dw', w.data.byteLength, 'conv2dBackwardFilter: dw', () => convkit.conv2dBackwardFilter(output, x, w.shape, { padding: 1 })],
      ['pool output', x.data.byteLength, 'pool2dForward: output', () => convkit.pool2dForward(x, { kernelSize: 1, mode: 'avg' })],
      [
        'pool argmax',
        x.data.byteLength,
        'pool2dForward: the argmax',
        () => convkit.pool2dForward(x, { kernelSize: 1, mode: 'max', out: convkit.tensor(new Float32Array(150), [2, 5, 5, 3]) }),
      ],
      ['pool2dBackward dx', x.data.byteLength, 'pool2dBackward: dx', () => convkit.pool2dBackward(pooled.output, pooled.cache)],
      [
        'linear output',
        6 * 50 * 4,
        'linear: output',
        () => convkit.linear(convkit.tensor(new Float32Array(6 * 40), [6, 40]), convkit.tensor(new Float32Array(50 * 40), [50, 40])),
      ],
      ['linearBackward dw', 50 * 40 * 4, 'linearBackward: dw', () => convkit.linearBackward(lin.output, lin.cache)],
      ['packed weights', packedBytes, 'packConv2dWeights: the packed weights', () => convkit.packConv2dWeights(w)],
    ];
    for (const [what, bytes, name, call] of calls) {
      convkit.setMemoryLimit(bytes - 1);
      let error;
      try {
        await call();
      } catch (caught) {
        error = caught;
      }
      assert.ok(error instanceof convkit.ConvkitError, `${what}: not refused under a limit of ${bytes - 1} bytes`);
      assert.strictEqual(error.code, 'ERR_TOO_LARGE', `${what}: ${error.message}`);
      assert.ok(error.message.startsWith(`${name} would need ${bytes} bytes`), `${what}: ${error.message}`);
      assert.match(error.message, new RegExp(`more than the memory limit of ${bytes - 1} bytes`), what);
    }
  });

  it('allows a buffer of exactly the limit and refuses one byte more (outputs made without a kernel workspace)', () => {
    const x = convkit.tensor(
      Float32Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => i % 7),
      [2, 5, 5, 3],
    );
    // [what, bytes, call]
    const calls = [
      ['zeroPad output', 2 * 7 * 7 * 3 * 4, () => convkit.zeroPad(x, 1)],
      ['tensor() from nested arrays', 300 * 8, () => convkit.tensor([Array.from({ length: 300 }, () => 1)], undefined, { dtype: 'float64' })],
      ['nn.Linear parameters', 30 * 20 * 4, () => new nn.Linear(20, 30)],
      ['nn.ReLU output', 300 * 4, () => new nn.ReLU().forward(convkit.tensor(new Float32Array(300), [300]))],
      ['CrossEntropyLoss gradient', 30 * 10 * 4, () => new nn.CrossEntropyLoss().forward(convkit.tensor(new Float32Array(300), [30, 10]), new Int32Array(30))],
    ];
    for (const [what, bytes, call] of calls) {
      convkit.setMemoryLimit(bytes);
      call();
      convkit.setMemoryLimit(bytes - 1);
      const error = thrown(call);
      assert.strictEqual(error.code, 'ERR_TOO_LARGE', `${what}: ${error.message}`);
      assert.match(error.message, new RegExp(`would need ${bytes} bytes .* more than the memory limit of ${bytes - 1} bytes`), what);
    }
  });

  it('a layer too large for a typed array is ERR_TOO_LARGE, not a RangeError', () => {
    const error = thrown(() => new nn.Linear(2 ** 20, 2 ** 20));
    assert.ok(error instanceof convkit.ConvkitError, `${error}`);
    assert.strictEqual(error.code, 'ERR_TOO_LARGE');
    assert.strictEqual(thrown(() => convkit.tensor(new Array(2 ** 32 - 1))).code, 'ERR_TOO_LARGE');
  });
});
