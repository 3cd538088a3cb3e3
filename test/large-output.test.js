'use strict';
// Outputs of 32 MiB or more get huge pages advised before the kernel writes them (lib/alloc.ts,
// native/runtime/large_pages.cpp): the values must be those of any other output, and memory
// must be given back as usual when such outputs are collected.
const assert = require('assert');
const convkit = require('../dist');
const { native } = require('../dist/binding');

const LARGE = 32 * 1024 * 1024;

describe('large outputs (huge pages)', function () {
  this.timeout(60000);

  it('zeroPad into a 32 MiB+ float64 output gives the padded input', function () {
    // 2 x 1026 x 1026 x 2 float64 after padding by 1: 33.7 MB.
    const [n, h, w, c] = [2, 1024, 1024, 2];
    const x = convkit.tensor(Float64Array.from({ length: n * h * w * c }, (_, i) => (i % 1009) - 504.5), [n, h, w, c]);
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
      assert.throws(() => native().adviseLargePages(bad), (error) => /ArrayBuffer/.test(error.message) && error.code === 'ERR_ARG');
    }
    const small = new ArrayBuffer(1024);
    new Uint8Array(small).fill(7);
    native().adviseLargePages(small);
    assert.ok(new Uint8Array(small).every((v) => v === 7));
  });
});
