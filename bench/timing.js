'use strict';
// Wall-clock timing shared by the convkit and onnxruntime runs: warm up, pick a
// repetition count so one measurement takes about `targetMs`, time each call on
// its own and keep the median (robust to the odd preemption or page fault).

const DEFAULTS = { targetMs: 400, warmupMs: 50, minReps: 5, maxReps: 20000 };
const QUICK = { targetMs: 15, warmupMs: 0, minReps: 3, maxReps: 200 };

// The tiny layer's call latency is the median over many calls.
function latencySettings(quick) {
  return quick ? { targetMs: 50, warmupMs: 10, minReps: 200, maxReps: 100000 } : { targetMs: 500, warmupMs: 50, minReps: 5000, maxReps: 100000 };
}

function median(sortedNs) {
  const mid = sortedNs.length >> 1;
  return sortedNs.length % 2 ? sortedNs[mid] : (sortedNs[mid - 1] + sortedNs[mid]) / 2;
}

function repetitions(estimateNs, settings) {
  const wanted = Math.ceil((settings.targetMs * 1e6) / Math.max(estimateNs, 1));
  return Math.min(settings.maxReps, Math.max(settings.minReps, wanted));
}

function summary(samplesNs) {
  samplesNs.sort((a, b) => a - b);
  return { medianNs: median(samplesNs), minNs: samplesNs[0], reps: samplesNs.length };
}

const now = () => Number(process.hrtime.bigint());

function measure(fn, settings = DEFAULTS) {
  // The first call pays for workspaces and lazy initialisation; keep it out of
  // the estimate, then warm up for warmupMs more.
  fn();
  let calls = 0;
  const warmupStart = now();
  do {
    fn();
    calls++;
  } while (now() - warmupStart < settings.warmupMs * 1e6);
  const reps = repetitions((now() - warmupStart) / calls, settings);
  const samples = new Array(reps);
  for (let i = 0; i < reps; i++) {
    const start = now();
    fn();
    samples[i] = now() - start;
  }
  return summary(samples);
}

// The same loop for promise-returning calls. Kept apart from measure(): awaiting a sync call
// would add a microtask turn to every sample and inflate microsecond latencies.
async function measureAsync(fn, settings = DEFAULTS) {
  await fn();
  let calls = 0;
  const warmupStart = now();
  do {
    await fn();
    calls++;
  } while (now() - warmupStart < settings.warmupMs * 1e6);
  const reps = repetitions((now() - warmupStart) / calls, settings);
  const samples = new Array(reps);
  for (let i = 0; i < reps; i++) {
    const start = now();
    await fn();
    samples[i] = now() - start;
  }
  return summary(samples);
}

module.exports = { DEFAULTS, QUICK, latencySettings, measure, measureAsync };
