'use strict';
// Issue 13 item 3, native side: one process-wide limit on any single buffer convkit allocates
// (binding.setMemoryLimit / getMemoryLimit), workspaces above it refused with ERR_TOO_LARGE before
// they are allocated, and a one-off large workspace given back to the OS after its call.
const assert = require('assert');
const { spawnSync } = require('child_process');
const path = require('path');
const convkit = require('../../dist');
const { native } = require('../../dist/binding');
const { skip } = require('../skips');

const DEFAULT_LIMIT = 2 ** 31;

// A conv with a tiny output (64 floats) whose weights (576 KiB) the kernels pack into scratch.
function packingConv(layout) {
  const [c, cout, k] = [256, 64, 3];
  const x = convkit.tensor(new Float32Array(k * k * c).fill(0.5), layout === 'NHWC' ? [1, k, k, c] : [1, c, k, k], { layout });
  const w = convkit.tensor(new Float32Array(k * k * c * cout).fill(0.25), layout === 'NHWC' ? [k, k, c, cout] : [cout, c, k, k], { layout });
  return { x, w, expected: 0.5 * 0.25 * k * k * c };
}

describe('memory limit and scratch release (issue 13 item 3)', function () {
  this.timeout(60000);
  afterEach(() => native().setMemoryLimit(DEFAULT_LIMIT));

  it('getMemoryLimit is 2 GiB by default and returns what setMemoryLimit set', function () {
    assert.strictEqual(native().getMemoryLimit(), DEFAULT_LIMIT);
    for (const bytes of [1, 4096, 2 ** 40, 2 ** 53 - 1]) {
      native().setMemoryLimit(bytes);
      assert.strictEqual(native().getMemoryLimit(), bytes);
    }
  });

  it('setMemoryLimit refuses anything but one integer in [1, 2^53-1] with ERR_ARG, keeping the limit', function () {
    native().setMemoryLimit(12345);
    const bad = [[0], [-1], [1.5], [NaN], [Infinity], [-Infinity], [2 ** 53], ['4096'], [null], [undefined], [{}], [10n], [], [4096, 1]];
    for (const args of bad) {
      assert.throws(
        () => native().setMemoryLimit(...args),
        (error) => error.code === 'ERR_ARG' && /setMemoryLimit|memory limit/.test(error.message),
        `setMemoryLimit(${args.map(String).join(', ')})`,
      );
      assert.strictEqual(native().getMemoryLimit(), 12345);
    }
    assert.throws(() => native().setMemoryLimit(10n), /got a bigint$/);
    assert.throws(() => native().setMemoryLimit(1.5), /got 1\.5$/);
    assert.strictEqual(native().getMemoryLimit(1, 2, 3), 12345, 'extra arguments to the getter are ignored');
  });

  for (const layout of ['NHWC', 'NCHW']) {
    it(`a workspace above the limit is ERR_TOO_LARGE, sync and async (${layout}); the same call works under the default`, async function () {
      const { x, w, expected } = packingConv(layout);
      native().setMemoryLimit(64 * 1024);
      const check = (error) => {
        assert.strictEqual(error.code, 'ERR_TOO_LARGE', error.message);
        assert.match(error.message, /memory limit of 65536 bytes/);
        return true;
      };
      assert.throws(() => convkit.conv2d(x, w), check);
      await assert.rejects(convkit.async.conv2d(x, w), check);
      native().setMemoryLimit(DEFAULT_LIMIT);
      for (const y of [convkit.conv2d(x, w), await convkit.async.conv2d(x, w)])
        assert.ok(
          y.data.every((v) => Math.abs(v - expected) <= 1e-4 * expected),
          `${layout}: wrong values after lifting the limit`,
        );
    });
  }

  it('a one-off 85 MB workspace is freed after the call (resident memory drops back)', function () {
    if (process.platform !== 'linux') return skip(this, 'reads resident memory from /proc/self/status (Linux only)');
    // Under AddressSanitizer (the CI's sanitizer run) freed memory would wait in its quarantine.
    const asanOptions = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=0'].filter(Boolean).join(':');
    const child = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'scratch-release.js')], {
      encoding: 'utf8',
      timeout: 50000,
      env: { ...process.env, ASAN_OPTIONS: asanOptions },
    });
    assert.strictEqual(child.signal, null, `the child died of ${child.signal}: ${child.stderr}`);
    assert.strictEqual(child.status, 0, `exit ${child.status}: ${child.stdout}${child.stderr}`);
    const { before, after, peak, rightValues } = JSON.parse(child.stdout.trim().split('\n').pop());
    const MiB = 2 ** 20;
    assert.ok(rightValues, 'the conv computed wrong values');
    // Precondition: the call did need the large workspace (else this test proves nothing).
    assert.ok(peak - before >= 64 * MiB, `the call grew the process by only ${((peak - before) / MiB).toFixed(1)} MiB`);
    assert.ok(after - before < 16 * MiB, `${((after - before) / MiB).toFixed(1)} MiB stayed resident after the call`);
  });
});
