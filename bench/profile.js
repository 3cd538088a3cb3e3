'use strict';
// Runs one suite layer's convkit call in a loop for a while, for a profiler to sample:
//
//   perf record -g node bench/profile.js stem7x7_c3_224 fwd NHWC
//   perf report --no-children
//
// usage: node bench/profile.js LAYER [fwd|bwd] [NHWC|NCHW] [float32|float64] [threads] [seconds]
// Set GLIBC_TUNABLES as bench/run.js does when the profile is to match its timings.

const path = require('path');
const suite = require('./suite');
const { convkitCalls } = require('./calls');

function main(argv) {
  const [name, pass = 'fwd', layout = 'NHWC', dtype = 'float32', threads = '1', seconds = '5'] = argv;
  const layer = suite.LAYERS.find((l) => l.name === name);
  const valid =
    layer &&
    ['fwd', 'bwd'].includes(pass) &&
    ['NHWC', 'NCHW'].includes(layout) &&
    ['float32', 'float64'].includes(dtype) &&
    Number(threads) >= 1 &&
    Number(seconds) > 0;
  if (!valid) {
    console.error(`usage: node ${path.relative(process.cwd(), __filename)} LAYER [fwd|bwd] [NHWC|NCHW] [float32|float64] [threads] [seconds]`);
    console.error(`layers: ${suite.LAYERS.map((l) => l.name).join(', ')}`);
    return 2;
  }
  const convkit = require('..');
  convkit.setNumThreads(Number(threads));
  const calls = convkitCalls(convkit, layer, layout, dtype);
  const call = pass === 'fwd' ? calls.fwd : calls.bwd();
  const end = process.hrtime.bigint() + BigInt(Math.round(Number(seconds) * 1e9));
  let count = 0;
  const start = process.hrtime.bigint();
  while (process.hrtime.bigint() < end) {
    call();
    count++;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / count;
  console.log(`${name} ${pass} ${layout} ${dtype} T=${threads}: ${count} calls, ${ms.toFixed(4)} ms per call (isa ${convkit.isa()})`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
