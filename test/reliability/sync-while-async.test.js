'use strict';
// Issue 13 item 8: a sync call must not wait behind queued async work. The pool runs one op at a
// time; a sync call made while async convolutions hold and queue for it runs on its own thread
// instead of waiting for them. The property checked is an order, not a time: the sync call
// returns, with the right values, while the async convolution that was already running when it
// was made has still not finished (its output still holds the NaN it was filled with).
const assert = require('assert');
const path = require('path');
const { Worker } = require('worker_threads');
const convkit = require('../../dist');
const naive = require('./naive');
const { rng, randomArray, assertAllClose, TOLERANCE } = require('../helpers');

// Each async convolution is 19 GFLOP (hundreds of ms on this project's machines, tens on any),
// against a tiny call of a few microseconds.
const BIG = { n: 4, h: 32, w: 32, c: 512, cout: 512 };
const QUEUED = 4;

function bigInputs() {
  const random = rng(7);
  const { n, h, w, c, cout } = BIG;
  return {
    x: convkit.tensor(randomArray(random, n * h * w * c, Float32Array), [n, h, w, c]),
    w: convkit.tensor(randomArray(random, 9 * c * cout, Float32Array), [3, 3, c, cout]),
  };
}

function nanOutput() {
  const { n, h, w, cout } = BIG;
  return convkit.tensor(new Float32Array(n * h * w * cout).fill(NaN), [n, h, w, cout]);
}

const finished = (out) => !out.data.some(Number.isNaN);

// A tiny problem and its reference result.
function tinyProblem() {
  const random = rng(11);
  const x = convkit.tensor(randomArray(random, 2 * 9 * 8 * 3, Float32Array), [2, 9, 8, 3]);
  const w = convkit.tensor(randomArray(random, 3 * 3 * 3 * 5, Float32Array), [3, 3, 3, 5]);
  const options = { padding: 1, stride: [2, 1] };
  return { x, w, options, expected: naive.conv2d(x.data, x.shape, w.data, w.shape, null, 'NHWC', options) };
}

// Whether any of `out`'s elements (every 64th, for speed) has been written.
function started(out) {
  for (let i = 0; i < out.data.length; i += 64) if (!Number.isNaN(out.data[i])) return true;
  return false;
}

// Spins until one of the async convolutions (whichever took the pool first) has visibly started.
function waitUntilOneStarted(outs) {
  const deadline = Date.now() + 60000;
  while (!outs.some(started)) {
    if (Date.now() > deadline) throw new Error('no async convolution ever started');
  }
}

describe('sync calls next to queued async work (issue 13 item 8)', function () {
  this.timeout(120000);
  const big = bigInputs();
  let bigExpected;
  before(() => (bigExpected = convkit.conv2d(big.x, big.w, null, { padding: 1 }).data));

  it('a tiny sync conv returns its right values while the running async conv has not finished', async function () {
    const tiny = tinyProblem();
    const outs = Array.from({ length: QUEUED }, nanOutput);
    const pending = outs.map((out) => convkit.async.conv2d(big.x, big.w, null, { padding: 1, out }));
    waitUntilOneStarted(outs);
    const result = convkit.conv2d(tiny.x, tiny.w, null, tiny.options);
    const unfinished = outs.filter((out) => !finished(out)).length;
    assertAllClose(result.data, tiny.expected.data, TOLERANCE.float32, 'sync result');
    assert.strictEqual(unfinished, QUEUED, `the sync call returned only after ${QUEUED - unfinished} async convolution(s) finished`);
    await Promise.all(pending);
    outs.forEach((out, i) => assertAllClose(out.data, bigExpected, TOLERANCE.float32, `async #${i}`));
  });

  it("sync calls in a worker_threads worker run next to the main thread's async work", async function () {
    const outs = Array.from({ length: QUEUED }, nanOutput);
    const pending = outs.map((out) => convkit.async.conv2d(big.x, big.w, null, { padding: 1, out }));
    waitUntilOneStarted(outs);
    const worker = new Worker(path.join(__dirname, 'fixtures', 'sync-in-worker.js'));
    const report = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    // The worker checked its own results against its reference; here, that it ran them all.
    assert.deepStrictEqual(report, { calls: 50, wrong: 0 });
    await Promise.all(pending);
    outs.forEach((out, i) => assertAllClose(out.data, bigExpected, TOLERANCE.float32, `async #${i}`));
  });
});
