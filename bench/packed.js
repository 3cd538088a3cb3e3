'use strict';
// Forward with weights packed ahead (packConv2dWeights) against weights packed in every call,
// for the suite's im2col + GEMM layers at batch size 1 (and the suite's own batch with --batch):
//
//   node bench/packed.js [--batch N] [--threads 1,2] [--layout NHWC,NCHW]
//
// Both variants of a row are timed in alternation, several rounds, keeping each one's best
// median, so that the VM's drift hits them alike.

const { parseArgs } = require('util');
const { ensureTunables } = require('./tunables');

ensureTunables();

const suite = require('./suite');
const timing = require('./timing');
const { convkitCalls } = require('./calls');

const ROUNDS = 4;

function main() {
  const { values } = parseArgs({
    options: { batch: { type: 'string', default: '1' }, threads: { type: 'string', default: '1,2' }, layout: { type: 'string', default: 'NHWC,NCHW' } },
  });
  const convkit = require('..');
  const batch = values.batch === 'suite' ? null : Number(values.batch);
  const layers = suite.LAYERS.filter((l) => l.kind === 'conv' && l.big).map((l) => ({ ...l, n: batch ?? l.n }));
  const settings = { ...timing.DEFAULTS, targetMs: 150 };
  console.log(`convkit ${convkit.isa()}, float32 forward, batch ${batch ?? 'as in the suite'}: median ms per call, best of ${ROUNDS} alternating rounds`);
  console.log('threads  layout  layer                     packed per call  packed ahead  speed-up');
  for (const threads of values.threads.split(',').map(Number)) {
    convkit.setNumThreads(threads);
    for (const layout of values.layout.split(',')) {
      for (const layer of layers) {
        const calls = convkitCalls(convkit, layer, layout, 'float32');
        let perCall = Infinity;
        let ahead = Infinity;
        for (let round = 0; round < ROUNDS; round++) {
          perCall = Math.min(perCall, timing.measure(calls.fwd, settings).medianNs / 1e6);
          ahead = Math.min(ahead, timing.measure(calls.fwdPacked, settings).medianNs / 1e6);
        }
        console.log(
          `${String(threads).padStart(7)}  ${layout.padEnd(6)}  ${layer.name.padEnd(24)}  ${perCall.toFixed(3).padStart(15)}  ${ahead.toFixed(3).padStart(12)}  ${(perCall / ahead).toFixed(2).padStart(7)}x`,
        );
      }
    }
  }
}

main();
