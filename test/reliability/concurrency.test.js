'use strict';
// Many async calls in flight at once, with the garbage collector forced while they run and the
// caller holding no reference to their inputs; sync calls and thread-count changes in between.
// Every result must equal the one computed on a private copy of the same inputs.
const assert = require('assert');
const v8 = require('v8');
const vm = require('vm');
const convkit = require('../../dist');
const { rng, randomArray, assertAllClose, TOLERANCE } = require('../helpers');

// global.gc without needing mocha to be started with --expose-gc.
v8.setFlagsFromString('--expose-gc');
const gc = global.gc || vm.runInNewContext('gc');

const IN_FLIGHT = Number(process.env.CONVKIT_CONCURRENCY_CALLS || 300);

/** A random small problem of one of several kinds, and how to run it on fresh copies. */
function makeProblem(seed) {
  const random = rng(seed);
  const dtype = random.pick(['float32', 'float64']);
  const Ctor = dtype === 'float64' ? Float64Array : Float32Array;
  const layout = random.pick(['NHWC', 'NCHW']);
  const [n, h, w, c, cout] = [random.int(1, 3), random.int(4, 14), random.int(4, 14), random.int(1, 8), random.int(1, 8)];
  const xShape = layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
  const wShape = layout === 'NHWC' ? [3, 3, c, cout] : [cout, c, 3, 3];
  const xData = randomArray(random, n * h * w * c, Ctor);
  const wData = randomArray(random, 9 * c * cout, Ctor);
  const kind = random.pick(['conv2d', 'convBackward', 'maxPool', 'avgPoolBackward', 'zeroPad']);
  // Builds fresh tensors every time so that the caller of an async run keeps nothing.
  const fresh = () => ({
    x: convkit.tensor(xData.slice(), xShape, { layout }),
    w: convkit.tensor(wData.slice(), wShape, { layout }),
    b: wData.slice(0, cout),
  });
  const run = async (api) => {
    const { x, w, b } = fresh();
    switch (kind) {
      case 'conv2d':
        return [await api.conv2d(x, w, b, { padding: 1, stride: [1, 2] })];
      case 'convBackward': {
        const { output, cache } = await api.conv2dForward(x, w, b, { padding: 'same' });
        const grads = await api.conv2dBackward(output, cache);
        return [output, grads.dx, grads.dw, grads.db];
      }
      case 'maxPool': {
        const { output, cache } = await api.pool2dForward(x, { kernelSize: 2, mode: 'max', ceilMode: true });
        return [output, await api.pool2dBackward(output, cache)];
      }
      case 'avgPoolBackward': {
        const { output, cache } = await api.pool2dForward(x, { kernelSize: 3, stride: 1, padding: 1, mode: 'avg' });
        return [output, await api.pool2dBackward(output, cache)];
      }
      default:
        return [await api.zeroPad(x, [1, 2])];
    }
  };
  return { run, dtype, kind };
}

/** The sync API with the async one's shape, so both runs share one code path. */
const syncApi = new Proxy(convkit, {
  get:
    (target, name) =>
    (...args) =>
      Promise.resolve(target[name](...args)),
});

function assertSame(actual, expected, label, tolerance) {
  assert.strictEqual(actual.length, expected.length, label);
  for (let i = 0; i < actual.length; i++) {
    if (tolerance) assertAllClose(actual[i].data, expected[i].data, tolerance, `${label}[${i}]`);
    else assert.ok(Buffer.from(actual[i].data.buffer).equals(Buffer.from(expected[i].data.buffer)), `${label}[${i}] differs`);
  }
}

/** Forces full collections until `done` settles. */
async function collectWhile(done) {
  let settled = false;
  done.then(
    () => (settled = true),
    () => (settled = true),
  );
  let collections = 0;
  while (!settled) {
    gc();
    collections++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return collections;
}

describe('concurrency', function () {
  this.timeout(120000);
  let originalThreads;
  before(() => (originalThreads = convkit.getNumThreads()));
  after(() => convkit.setNumThreads(originalThreads));

  const problems = Array.from({ length: IN_FLIGHT }, (_, i) => makeProblem(1000 + i));
  let expected;
  before(async function () {
    expected = [];
    for (const p of problems) expected.push(await p.run(syncApi));
  });

  it(`${IN_FLIGHT} async calls in flight with GC forced meanwhile equal the sync results`, async function () {
    // Nothing but the promises is kept: the inputs are reachable only through the addon.
    const all = Promise.all(problems.map((p) => p.run(convkit.async)));
    const collections = await collectWhile(all);
    const results = await all;
    results.forEach((r, i) => assertSame(r, expected[i], `${problems[i].kind} #${i}`));
    assert.ok(collections > 0, 'the GC never ran while the calls were in flight');
  });

  it('sync calls made while async calls run are correct', async function () {
    const all = Promise.all(problems.map((p) => p.run(convkit.async)));
    let syncCalls = 0;
    let settled = false;
    all.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let i = 0; !settled || syncCalls < 20; i = (i + 7) % problems.length) {
      assertSame(await problems[i].run(syncApi), expected[i], `sync ${problems[i].kind} #${i}`);
      syncCalls++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    (await all).forEach((r, i) => assertSame(r, expected[i], `async ${problems[i].kind} #${i}`));
  });

  it('setNumThreads while async work is in flight is safe and results stay correct', async function () {
    const all = Promise.all(problems.map((p) => p.run(convkit.async)));
    let settled = false;
    all.then(
      () => (settled = true),
      () => (settled = true),
    );
    let changes = 0;
    while (!settled || changes < 8) {
      convkit.setNumThreads(1 + (changes % 4));
      changes++;
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Thread counts change the order of partial sums (dw), so compare to the reference tolerance.
    (await all).forEach((r, i) => assertSame(r, expected[i], `${problems[i].kind} #${i}`, TOLERANCE[problems[i].dtype]));
  });
});
