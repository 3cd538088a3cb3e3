'use strict';
// Issue 13, items 1 and 3: padding, dilation and stride near 2^31 on a one-pixel input once
// wrapped the size of the direct kernels' padded planes (heap overflow, SIGSEGV), and large
// dilations made the padded planes (and the NHWC input band, and dx's padded dY) grow as the
// square of the dilation: 6.4 GB and 33 s for dilation 40000 with 'same' padding, for one output
// pixel. Each geometry runs in a child process (fixtures/size-limit-case.js) through forward,
// dx and dw, sync and async, both layouts and dtypes, with channel counts that reach the direct,
// depthwise and GEMM paths. Every call must return the naive reference's values or throw
// ERR_TOO_LARGE, the child must exit normally, quickly, and with a small peak RSS.
const assert = require('assert');
const { spawnSync } = require('child_process');
const path = require('path');

const FIXTURE = path.join(__dirname, 'fixtures', 'size-limit-case.js');
// Direct (then depthwise), the NHWC band / im2col and dx-as-forward GEMM paths, depthwise.
const CHANNELS = [
  [1, 1, 1],
  [20, 20, 1],
  [3, 3, 3],
];
// A bare node process with convkit loaded peaks near 45 MiB; dilation 10000 used to reach 424.
const PEAK_RSS_MIB = 160;
// Under the ASan build (scripts/sanitize-addon.sh) the shadow memory makes RSS meaningless and
// an address-space limit impossible; there the point is memory errors, checked by ASan itself.
const SANITIZED = /asan/.test(process.env.LD_PRELOAD || '');

const GEOMETRIES = [
  [
    'the issue repro (stride 2, padding ~2^30, dilation ~2^31)',
    { h: 1, w: 1, k: 2, options: { stride: [2, 2], padding: [2 ** 30, 2 ** 30 - 15], dilation: [2 ** 31 - 1, 2 ** 31 - 31] } },
  ],
  [
    'the issue repro with stride 1 (dx through the direct kernel)',
    { h: 1, w: 1, k: 2, options: { stride: 1, padding: [2 ** 30, 2 ** 30 - 15], dilation: [2 ** 31 - 1, 2 ** 31 - 31] } },
  ],
  ["dilation 10000, 'same' padding", { h: 1, w: 1, k: 2, options: { padding: 'same', dilation: 10000 } }],
  ["dilation 40000, 'same' padding", { h: 1, w: 1, k: 2, options: { padding: 'same', dilation: 40000 } }],
  ['dilation and padding 80000 (the centre tap lands on the input)', { h: 2, w: 3, k: 3, options: { padding: 80000, dilation: 80000 } }],
  ['padding 2^30, stride 2^31', { h: 1, w: 2, k: 2, options: { padding: 2 ** 30, stride: 2 ** 31 } }],
  ['padding, stride and dilation 2^31', { h: 1, w: 1, k: 2, options: { padding: 2 ** 31, stride: 2 ** 31, dilation: 2 ** 31 } }],
];

function runCase(spec) {
  const env = { ...process.env };
  let command = process.execPath,
    args = [FIXTURE, JSON.stringify(spec)];
  if (!SANITIZED) {
    // A 3 GB address-space cap: a regression fails with ERR_ALLOC instead of paging the machine.
    command = 'bash';
    args = ['-c', 'ulimit -v 3000000 && exec "$0" "$@"', process.execPath, ...args];
  }
  return spawnSync(command, args, { encoding: 'utf8', env, timeout: 120000 });
}

describe('size limits: padding, dilation and stride near 2^31 (issue 13)', function () {
  this.timeout(180000);

  for (const [what, geometry] of GEOMETRIES) {
    it(`${what}: reference values or ERR_TOO_LARGE, small peak RSS, no crash`, function () {
      const child = runCase({ ...geometry, channels: CHANNELS });
      assert.strictEqual(child.signal, null, `child killed by ${child.signal}\n${child.stderr}`);
      assert.strictEqual(child.status, 0, child.stderr);
      const { results, vmHwmKiB, seconds } = JSON.parse(child.stdout.trim().split('\n').pop());
      assert.strictEqual(results.length, CHANNELS.length * 2 * 2 * 3 * 2);
      const wrong = results.filter((r) => !(r.status === 'ok' || (r.status === 'error' && r.code === 'ERR_TOO_LARGE')));
      assert.deepStrictEqual(wrong, []);
      if (!SANITIZED) {
        assert.ok(vmHwmKiB / 1024 < PEAK_RSS_MIB, `peak RSS ${(vmHwmKiB / 1024).toFixed(0)} MiB`);
        assert.ok(seconds < 20, `took ${seconds.toFixed(1)} s`);
      }
    });
  }
});
