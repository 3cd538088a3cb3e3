'use strict';
// Issue 13 item 2: an async call keeps the memory of its buffers alive while it runs, whatever JS
// does with them meanwhile (transfer and collect, or allocate over it), and refuses resizable
// ArrayBuffers, which resize(0) would decommit under the kernel. The crashing cases run in a
// child process (fixtures/buffer-lifetime.js); --single-threaded-gc frees collected buffers on
// the JS thread, so that the arrays allocated next reuse their memory.
const assert = require('assert');
const { spawnSync } = require('child_process');
const path = require('path');
const convkit = require('../../dist');
const naive = require('./naive');
const { rng, randomArray, assertAllClose, TOLERANCE } = require('../helpers');

const FIXTURE = path.join(__dirname, 'fixtures', 'buffer-lifetime.js');

function runFixture(mode) {
  const child = spawnSync(process.execPath, ['--expose-gc', '--single-threaded-gc', FIXTURE, mode], {
    encoding: 'utf8',
    timeout: 100000,
  });
  assert.strictEqual(child.signal, null, `${mode}: the child died of ${child.signal}: ${child.stderr}`);
  assert.strictEqual(child.status, 0, `${mode}: exit ${child.status}: ${child.stdout}${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop());
}

// A small conv whose every argument can be put on a buffer of the caller's choosing.
function smallProblem() {
  const random = rng(21);
  const x = randomArray(random, 2 * 6 * 5 * 3, Float32Array);
  const w = randomArray(random, 3 * 3 * 3 * 4, Float32Array);
  const b = randomArray(random, 4, Float32Array);
  const options = { padding: 1 };
  const expected = naive.conv2d(x, [2, 6, 5, 3], w, [3, 3, 3, 4], b, 'NHWC', options).data;
  return { x, w, b, options, expected, outCount: 2 * 6 * 5 * 4 };
}

// A copy of `array` on a buffer made by makeBuffer(byteLength).
function onBuffer(array, makeBuffer) {
  const copy = new Float32Array(makeBuffer(array.byteLength));
  copy.set(array);
  return copy;
}

const resizable = (bytes) => new ArrayBuffer(bytes, { maxByteLength: bytes * 2 });

describe('buffers of async calls (issue 13 item 2)', function () {
  this.timeout(120000);

  it("an input's buffer transferred away and collected mid-call: no crash, the result is from the original input", function () {
    const result = runFixture('transfer-input');
    assert.strictEqual(result.settled, 'resolved', JSON.stringify(result));
    assert.ok(result.maxAbsDiff <= 1e-3, `the async result differs from the sync one by ${result.maxAbsDiff}`);
    assert.strictEqual(result.fillersIntact, true, 'arrays allocated after the transfer were overwritten');
  });

  it("a small out's buffer transferred away and collected: arrays allocated afterwards stay untouched, the call rejects", function () {
    const result = runFixture('transfer-out');
    // The big call resolves; the one whose out went away rejects rather than resolve with an
    // empty tensor (its result was written into the transferred memory).
    assert.deepStrictEqual(result.settled, ['fulfilled', 'rejected'], JSON.stringify(result));
    assert.deepStrictEqual(result.codes, [null, 'ERR_ARG'], JSON.stringify(result));
    assert.strictEqual(result.fillersIntact, true, 'the kernel wrote into arrays allocated after the transfer');
  });

  it('a resizable input shrunk to 0 right after the call: refused with ERR_ARG, no crash', function () {
    const result = runFixture('resize');
    assert.strictEqual(result.settled, 'rejected', JSON.stringify(result));
    assert.strictEqual(result.code, 'ERR_ARG');
    assert.match(result.message, /^x must not be backed by a resizable ArrayBuffer/);
  });

  it("a parameter accessor that takes the input's buffer away during a sync call: refused, no crash", function () {
    // The addon reads parameters before typed arrays, so it sees the buffer already detached.
    const result = runFixture('params-getter');
    assert.strictEqual(result.settled, 'threw', JSON.stringify(result));
    assert.strictEqual(result.code, 'ERR_SHAPE');
    assert.match(result.message, /^x must have \d+ elements/);
  });

  for (const [arg, nativeName] of [
    ['x', 'x'],
    ['w', 'w'],
    ['b', 'b'],
    ['out', 'y'],
  ]) {
    it(`async conv2d refuses a resizable ArrayBuffer as ${arg} (ERR_ARG naming ${nativeName}); sync accepts it`, async function () {
      const p = smallProblem();
      const make = (name, data) => (name === arg ? onBuffer(data, resizable) : data.slice());
      const call = (api) => {
        const x = convkit.tensor(make('x', p.x), [2, 6, 5, 3]);
        const w = convkit.tensor(make('w', p.w), [3, 3, 3, 4]);
        const out = convkit.tensor(make('out', new Float32Array(p.outCount).fill(NaN)), [2, 6, 5, 4]);
        return api.conv2d(x, w, make('b', p.b), { ...p.options, out });
      };
      await assert.rejects(call(convkit.async), (error) => {
        assert.strictEqual(error.code, 'ERR_ARG');
        assert.match(error.message, new RegExp(`^${nativeName} must not be backed by a resizable ArrayBuffer`));
        return true;
      });
      assertAllClose(call(convkit).data, p.expected, TOLERANCE.float32, `sync with a resizable ${arg}`);
    });
  }

  it('sync and async calls accept SharedArrayBuffers, growable ones included, and compute right', async function () {
    const p = smallProblem();
    const makers = { fixed: (bytes) => new SharedArrayBuffer(bytes), growable: (bytes) => new SharedArrayBuffer(bytes, { maxByteLength: bytes * 2 }) };
    for (const [kind, make] of Object.entries(makers)) {
      for (const [mode, api] of [
        ['sync', convkit],
        ['async', convkit.async],
      ]) {
        const x = convkit.tensor(onBuffer(p.x, make), [2, 6, 5, 3]);
        const w = convkit.tensor(onBuffer(p.w, make), [3, 3, 3, 4]);
        const out = convkit.tensor(onBuffer(new Float32Array(p.outCount).fill(NaN), make), [2, 6, 5, 4]);
        const y = await api.conv2d(x, w, onBuffer(p.b, make), { ...p.options, out });
        assertAllClose(y.data, p.expected, TOLERANCE.float32, `${mode} on ${kind} SharedArrayBuffers`);
      }
    }
  });

  it('an async call on an already detached buffer is refused, not run', async function () {
    const p = smallProblem();
    const x = convkit.tensor(p.x.slice(), [2, 6, 5, 3]);
    const w = convkit.tensor(p.w.slice(), [3, 3, 3, 4]);
    structuredClone(x.data.buffer, { transfer: [x.data.buffer] });
    await assert.rejects(convkit.async.conv2d(x, w, null, p.options), (error) => typeof error.code === 'string' && /^ERR_/.test(error.code));
  });
});
