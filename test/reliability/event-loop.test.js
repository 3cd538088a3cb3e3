'use strict';
// A long async convolution runs off the JS thread: a timer on the main thread keeps firing
// while it runs. (A liveness check, not a speed one: scripts/event-loop-lag.js measures the lag.)
const assert = require('assert');
const convkit = require('../../dist');

/** A convolution whose async run takes roughly `seconds`, sized by timing one sync run. */
function longConvolution(seconds) {
  const make = (n) => ({
    x: convkit.tensor(new Float32Array(n * 56 * 56 * 64).fill(0.5), [n, 56, 56, 64]),
    w: convkit.tensor(new Float32Array(3 * 3 * 64 * 64).fill(0.01), [3, 3, 64, 64]),
  });
  const probe = make(1);
  const start = process.hrtime.bigint();
  convkit.conv2d(probe.x, probe.w, null, { padding: 1 });
  const perImage = Number(process.hrtime.bigint() - start) / 1e9;
  return make(Math.max(1, Math.min(256, Math.round(seconds / perImage))));
}

describe('event loop', function () {
  this.timeout(60000);

  it('a timer keeps firing while a ~0.6 s async convolution runs', async function () {
    const { x, w } = longConvolution(0.6);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const start = Date.now();
    try {
      await convkit.async.conv2d(x, w, null, { padding: 1 });
    } finally {
      clearInterval(timer);
    }
    const elapsed = Date.now() - start;
    // A blocked loop would give 0 ticks; a live one about elapsed / 10.
    assert.ok(ticks >= Math.min(5, elapsed / 40), `the timer fired ${ticks} times during ${elapsed} ms of async work`);
  });
});
