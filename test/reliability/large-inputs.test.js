'use strict';
// Sizes past 2^31 elements are refused with a coded error before anything is allocated, and a
// request the machine cannot allocate becomes ERR_ALLOC, not an abort.
const assert = require('assert');
const { spawnSync } = require('child_process');
const path = require('path');
const convkit = require('../../dist');

const f32 = (n) => new Float32Array(n);
const tiny = () => convkit.tensor(f32(1), [1, 1, 1, 1]);

// [what, call, code]: each would need more than 2^31 elements somewhere.
const REFUSED = [
  ['dx of 2^33 elements', () => convkit.conv2dBackwardInput(tiny(), tiny(), [1, 2 ** 16, 2 ** 17, 1], { stride: [2 ** 16, 2 ** 17] }), 'ERR_TOO_LARGE'],
  ['dw of 2^32 + 2^31 elements', () => convkit.conv2dBackwardFilter(tiny(), tiny(), [1, 1, 1, 1.5 * 2 ** 32]), 'ERR_TOO_LARGE'],
  ['zeroPad to 2^34 elements', () => convkit.zeroPad(tiny(), 2 ** 16), 'ERR_TOO_LARGE'],
  ['conv output of 2^32 + 1 elements', () => convkit.conv2d(tiny(), tiny(), null, { padding: 2 ** 15 }), 'ERR_TOO_LARGE'],
  ['a shape of 2^40 elements with 1 element of data', () => convkit.conv2d({ data: f32(1), shape: [2 ** 10, 2 ** 10, 2 ** 10, 2 ** 10] }, tiny()), 'ERR_SHAPE'],
  ['a size of 2^53', () => convkit.conv2dBackwardInput(tiny(), tiny(), [2 ** 53, 1, 1, 1]), 'ERR_TOO_LARGE'],
];

describe('large inputs', function () {
  this.timeout(60000);

  for (const [what, call, code] of REFUSED) {
    it(`refuses ${what} with ${code}, before allocating`, function () {
      const rssBefore = process.memoryUsage().rss;
      const start = process.hrtime.bigint();
      assert.throws(call, (error) => error instanceof convkit.ConvkitError && error.code === code);
      assert.ok(Number(process.hrtime.bigint() - start) < 200e6, 'took long enough to have touched memory');
      assert.ok(process.memoryUsage().rss - rssBefore < 64 * 2 ** 20, 'RSS grew: something was allocated');
    });
  }

  it('an allocation the process cannot make is ERR_ALLOC (sync and async), and the next call works', function () {
    // A 6.4 GB output under a 6 GB address-space limit: valid, under the size limits (the
    // memory limit raised past it), and certain to fail to allocate whatever the machine's memory.
    // It is also past Buffer's 4 GiB, which must not surface as Node's "size out of range".
    const script = `
      const convkit = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist'))});
      convkit.setMemoryLimit(2 ** 40);
      const one = () => convkit.tensor(new Float32Array(1), [1, 1, 1, 1]);
      const huge = () => convkit.conv2dBackwardInput(one(), one(), [1, 40000, 40000, 1], { stride: 40000 });
      let sync;
      try { huge(); } catch (error) { sync = /out of range/.test(error.message) ? error.message : error.code; }
      convkit.async.conv2dBackwardInput(one(), one(), [1, 40000, 40000, 1], { stride: 40000 }).then(
        () => console.log('async allocated'),
        (error) => {
          const next = convkit.conv2d(one(), one()).data.length;
          console.log(JSON.stringify({ sync, async: error.code, next }));
        });`;
    // The plain build: ASan (scripts/sanitize-addon.sh) cannot start under an address-space limit.
    const env = { ...process.env };
    delete env.LD_PRELOAD;
    delete env.CONVKIT_ADDON_PATH;
    const child = spawnSync('bash', ['-c', `ulimit -v 6000000 && exec "${process.execPath}" -e '${script.replace(/'/g, "'\\''")}'`], { encoding: 'utf8', env });
    assert.strictEqual(child.status, 0, child.stderr);
    assert.deepStrictEqual(JSON.parse(child.stdout.trim()), { sync: 'ERR_ALLOC', async: 'ERR_ALLOC', next: 1 });
  });
});
