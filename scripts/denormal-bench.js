#!/usr/bin/env node
'use strict';
// Times convolution (forward and backward) and pooling on normal inputs and on subnormal
// (denormal) ones of the same shapes. A kernel that hits x87/SSE microcode assists on
// subnormals shows a large ratio. Prints the ratios; with --max-ratio R exits 1 above R.
// Usage: node scripts/denormal-bench.js [--max-ratio R]
const convkit = require('../dist');

const maxRatioArg = process.argv.indexOf('--max-ratio');
const MAX_RATIO = maxRatioArg > 0 ? Number(process.argv[maxRatioArg + 1]) : Infinity;

function timeIt(fn) {
  fn(); // warm-up
  const times = [];
  for (let i = 0; i < 5; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[2]; // median
}

function operands(dtype, scale) {
  const Ctor = dtype === 'float64' ? Float64Array : Float32Array;
  const fill = (n, seed) => new Ctor(n).map((_, i) => scale * (1 + Math.sin(i * 0.7 + seed)));
  return {
    x: convkit.tensor(fill(4 * 28 * 28 * 64, 1), [4, 28, 28, 64]),
    w: convkit.tensor(fill(3 * 3 * 64 * 64, 2), [3, 3, 64, 64]),
  };
}

// Subnormal magnitudes, and products of them that underflow into subnormals or zero.
const SUBNORMAL = { float32: 1e-39, float64: 1e-310 };
let worst = 0;
for (const dtype of ['float32', 'float64']) {
  const normal = operands(dtype, 1);
  const tiny = operands(dtype, SUBNORMAL[dtype]);
  // Normal weights with subnormal inputs too: subnormal products that do not underflow.
  const mixed = { x: tiny.x, w: normal.w };
  const cases = {
    'conv2d forward': ({ x, w }) => convkit.conv2d(x, w, null, { padding: 1 }),
    'conv2d backward': ({ x, w }) => {
      const { output, cache } = convkit.conv2dForward(x, w, null, { padding: 1 });
      convkit.conv2dBackward(output, cache);
    },
    'avgPool2d 3x3': ({ x }) => convkit.avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1 }),
    'maxPool2d 3x3': ({ x }) => convkit.maxPool2d(x, { kernelSize: 3, stride: 1, padding: 1 }),
  };
  for (const [name, run] of Object.entries(cases)) {
    const base = timeIt(() => run(normal));
    for (const [label, data] of [
      ['subnormal x and w', tiny],
      ['subnormal x', mixed],
    ]) {
      const slow = timeIt(() => run(data));
      worst = Math.max(worst, slow / base);
      console.log(
        `${dtype} ${name.padEnd(16)} normal ${base.toFixed(2).padStart(7)} ms  ${label.padEnd(18)} ${slow.toFixed(2).padStart(7)} ms  ratio ${(slow / base).toFixed(2)}`,
      );
    }
  }
}
console.log(`denormal-bench: worst ratio ${worst.toFixed(2)}`);
if (worst > MAX_RATIO) {
  console.error(`denormal-bench: subnormal inputs are ${worst.toFixed(2)}x slower, above ${MAX_RATIO}`);
  process.exit(1);
}
