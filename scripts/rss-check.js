#!/usr/bin/env node
'use strict';
// Makes many mixed sync and async calls (every op, both dtypes, successes and coded failures)
// and fails if memory grows beyond a small bound after warm-up: a leak of even a few hundred
// bytes per call shows as megabytes. Native memory is the resident set less the pages V8 holds
// for its heap (V8 may grow its heap by megabytes at any point, a sizing policy and no leak);
// JS objects that leak show in the heap's used bytes, checked separately.
// Usage: node scripts/rss-check.js [calls=100000] [boundMiB=8]
const v8 = require('v8');
const vm = require('vm');
const convkit = require('../dist');

v8.setFlagsFromString('--expose-gc');
const gc = global.gc || vm.runInNewContext('gc');

const CALLS = Number(process.argv[2] || 100000);
const BOUND_MIB = Number(process.argv[3] || 8);
const WARMUP = Math.floor(CALLS / 5);
const ASYNC_BATCH = 32;

function inputs(Ctor) {
  return {
    x: convkit.tensor(new Ctor(2 * 8 * 8 * 4).fill(0.5), [2, 8, 8, 4]),
    w: convkit.tensor(new Ctor(3 * 3 * 4 * 6).fill(0.25), [3, 3, 4, 6]),
    b: new Ctor(6).fill(1),
  };
}
const sets = [inputs(Float32Array), inputs(Float64Array)];

/** One call of each kind, round robin; returns a promise for async ones. */
function call(i) {
  const { x, w, b } = sets[i & 1];
  switch ((i >> 1) % 8) {
    case 0:
      return convkit.conv2d(x, w, b, { padding: 1 });
    case 1: {
      const { output, cache } = convkit.conv2dForward(x, w, b, { stride: 2 });
      return convkit.conv2dBackward(output, cache);
    }
    case 2: {
      const { output, cache } = convkit.pool2dForward(x, { kernelSize: 2, mode: i & 4 ? 'max' : 'avg' });
      return convkit.pool2dBackward(output, cache);
    }
    case 3:
      return convkit.zeroPad(x, 1);
    case 4:
      return convkit.async.conv2d(x, w, b, { padding: 'same' });
    case 5:
      return convkit.async.maxPool2d(x, { kernelSize: 3, stride: 1, padding: 1 });
    case 6: // failures must not leak either: a sync one and an async one
      try {
        convkit.conv2d(x, w, b, { groups: 3 });
      } catch (error) {
        if (!error.code) throw error;
      }
      return convkit.async.conv2d(x, w, null, { stride: 0 }).catch((error) => {
        if (!error.code) throw error;
      });
    default:
      return convkit.async.conv2dBackwardFilter(convkit.conv2d(x, w, b), x, [3, 3, 4, 6], {});
  }
}

/** Native memory (resident set less V8's heap) and V8's used heap, in MiB, after full collections. */
function usage() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { native: (m.rss - m.heapTotal) / 2 ** 20, heap: m.heapUsed / 2 ** 20 };
}

async function main() {
  let baseline;
  const samples = [];
  for (let done = 0; done < CALLS; ) {
    const pending = [];
    for (let k = 0; k < ASYNC_BATCH && done < CALLS; k++, done++) pending.push(call(done));
    await Promise.all(pending);
    if (done === WARMUP || (done > WARMUP && done % Math.floor(CALLS / 10) === 0)) {
      const now = usage();
      if (done === WARMUP) baseline = now;
      samples.push(now);
    }
  }
  const final = usage();
  let failed = false;
  for (const kind of ['native', 'heap']) {
    const growth = final[kind] - baseline[kind];
    const perCall = (growth * 2 ** 20) / (CALLS - WARMUP);
    console.log(
      `rss-check: ${CALLS} calls, ${kind} ${baseline[kind].toFixed(1)} -> ${final[kind].toFixed(1)} MiB after warm-up (${growth.toFixed(2)} MiB, ${perCall.toFixed(1)} bytes/call); samples ${samples.map((s) => s[kind].toFixed(1)).join(' ')}`,
    );
    if (growth > BOUND_MIB) {
      console.error(`rss-check: ${kind} memory grew by ${growth.toFixed(2)} MiB, more than the ${BOUND_MIB} MiB bound`);
      failed = true;
    }
  }
  if (failed) process.exit(1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
