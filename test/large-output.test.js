'use strict';
// Outputs of 32 MiB or more get huge pages advised before the kernel writes them (lib/alloc.ts,
// native/runtime/large_pages.cpp): such an output must then be backed by transparent huge pages
// where the kernel grants them on advice, its values must be those of any other output, and
// memory must be given back as usual when such outputs are collected.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const convkit = require('../dist');
const { native } = require('../dist/binding');
const { skip } = require('./skips');

const LARGE = 32 * 1024 * 1024;
const HUGE_PAGE = 2 * 1024 * 1024;
const THP_MODE_FILE = '/sys/kernel/mm/transparent_hugepage/enabled';

/** The selected transparent huge page mode ('always', 'madvise', 'never'), or null where there is none. */
function transparentHugePageMode() {
  try {
    return /\[(\w+)\]/.exec(fs.readFileSync(THP_MODE_FILE, 'utf8'))[1];
  } catch {
    return null;
  }
}

describe('large outputs (huge pages)', function () {
  this.timeout(60000);

  it('zeroPad into a 32 MiB+ float64 output gives the padded input', function () {
    // 2 x 1026 x 1026 x 2 float64 after padding by 1: 33.7 MB.
    const [n, h, w, c] = [2, 1024, 1024, 2];
    const x = convkit.tensor(
      Float64Array.from({ length: n * h * w * c }, (_, i) => (i % 1009) - 504.5),
      [n, h, w, c],
    );
    const y = convkit.zeroPad(x, 1);
    assert.ok(y.data.byteLength >= LARGE, `output of ${y.data.byteLength} bytes`);
    assert.strictEqual(y.data.byteOffset, 0);
    assert.deepStrictEqual(y.shape, [n, h + 2, w + 2, c]);
    let bad = -1;
    for (let b = 0; b < n && bad < 0; b++)
      for (let i = 0; i < h + 2 && bad < 0; i++)
        for (let j = 0; j < w + 2 && bad < 0; j++)
          for (let k = 0; k < c; k++) {
            const inside = i >= 1 && i <= h && j >= 1 && j <= w;
            const want = inside ? x.data[((b * h + i - 1) * w + j - 1) * c + k] : 0;
            const at = ((b * (h + 2) + i) * (w + 2) + j) * c + k;
            if (!Object.is(y.data[at], want)) bad = at;
          }
    assert.strictEqual(bad, -1, `element ${bad} differs`);
  });

  it('a 32 MiB+ output is backed by huge pages (AnonHugePages grows by a large part of it)', function () {
    const mode = transparentHugePageMode();
    if (mode !== 'madvise' && mode !== 'always') {
      return skip(this, `transparent huge pages are ${mode ? `'${mode}'` : 'absent'} here (${THP_MODE_FILE}): no advice can take effect`);
    }
    // A fresh process, so that no other test's memory moves the process-wide counter.
    const child = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'huge-page-output.js')], { encoding: 'utf8', timeout: 50000 });
    assert.strictEqual(child.status, 0, `exit ${child.status} (${child.signal}): ${child.stdout}${child.stderr}`);
    const { outputBytes, advisedHugeBytes, plainHugeBytes } = JSON.parse(child.stdout.trim().split('\n').pop());
    assert.ok(outputBytes >= LARGE, `output of ${outputBytes} bytes`);
    // All but the unaligned ends could be huge; a quarter leaves room for a fragmented host.
    assert.ok(advisedHugeBytes >= Math.max(HUGE_PAGE, outputBytes / 4), `only ${advisedHugeBytes} bytes of the ${outputBytes}-byte output in huge pages`);
    // In madvise mode only advised memory gets huge pages: the same allocation made without
    // convkit's advice shows that the pages come from the advice.
    if (mode === 'madvise') assert.strictEqual(plainHugeBytes, 0, 'a plain typed array got huge pages without advice');
  });

  it('memory of collected large outputs is returned (RSS stays bounded over 60 x 51 MB outputs)', function () {
    const x = convkit.tensor(new Float64Array(8 * 112 * 112 * 64).fill(1.5), [8, 112, 112, 64]);
    const before = process.memoryUsage().rss;
    let peak = before;
    for (let i = 0; i < 60; i++) {
      const y = convkit.maxPool2d(x, { kernelSize: 1 });
      assert.strictEqual(y.data[(i * 7919) % y.size], 1.5);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    // 60 outputs kept alive would be 3 GB; the GC keeps a handful.
    assert.ok(peak - before < 1.5e9, `RSS grew by ${((peak - before) / 1e6).toFixed(0)} MB`);
  });

  it('adviseLargePages takes only an ArrayBuffer, and leaves a small one alone', function () {
    for (const bad of [undefined, 42, new Float64Array(4), {}]) {
      assert.throws(
        () => native().adviseLargePages(bad),
        (error) => /ArrayBuffer/.test(error.message) && error.code === 'ERR_ARG',
      );
    }
    const small = new ArrayBuffer(1024);
    new Uint8Array(small).fill(7);
    native().adviseLargePages(small);
    assert.ok(new Uint8Array(small).every((v) => v === 7));
  });
});
