#!/usr/bin/env node
'use strict';
// Measures how late the main thread's event loop runs (perf_hooks.monitorEventLoopDelay) while
// large async convolutions keep the kernels busy, next to the same measurement while idle and
// while the same work runs through the sync API (which blocks the loop by design).
// Usage: node scripts/event-loop-lag.js [seconds per phase = 2]
const { monitorEventLoopDelay } = require('perf_hooks');
const convkit = require('../dist');

const SECONDS = Number(process.argv[2] || 2);
const x = convkit.tensor(new Float32Array(8 * 56 * 56 * 64).fill(0.5), [8, 56, 56, 64]);
const w = convkit.tensor(new Float32Array(3 * 3 * 64 * 64).fill(0.01), [3, 3, 64, 64]);

async function measure(label, work) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  // Something for the loop to do meanwhile, as a server would have.
  const timer = setInterval(() => {}, 1);
  histogram.enable();
  const end = Date.now() + SECONDS * 1000;
  let calls = 0;
  while (Date.now() < end) {
    await work();
    calls++;
    await new Promise((resolve) => setImmediate(resolve)); // let the loop turn (and be measured)
  }
  histogram.disable();
  clearInterval(timer);
  const ms = (ns) => (ns / 1e6).toFixed(2);
  console.log(
    `${label.padEnd(28)} calls ${String(calls).padStart(4)}  lag p50 ${ms(histogram.percentile(50))} ms  p99 ${ms(histogram.percentile(99))} ms  max ${ms(histogram.max)} ms`,
  );
}

async function main() {
  convkit.conv2d(x, w, null, { padding: 1 }); // warm up scratch and threads
  console.log(`event-loop lag, ${convkit.getNumThreads()} kernel threads, ISA ${convkit.isa()}, conv 8x56x56x64 -> 64, 3x3 (float32)`);
  await measure('idle', () => new Promise((resolve) => setTimeout(resolve, 50)));
  await measure('async conv2d, one at a time', () => convkit.async.conv2d(x, w, null, { padding: 1 }));
  await measure('async conv2d, 4 in flight', () => Promise.all([0, 1, 2, 3].map(() => convkit.async.conv2d(x, w, null, { padding: 1 }))));
  await measure('sync conv2d (blocks)', async () => convkit.conv2d(x, w, null, { padding: 1 }));
}

main();
