'use strict';
// Fuzzing near the size limits (issue 13): padding, dilation, stride and sizes up to 2^31 and
// beyond, output sizes whose products land near 2^46 and 2^64, on every kernel path (forward,
// dx, dw, pooling and its backward, zero padding; both layouts and dtypes; sync and async); and
// async calls whose buffers are transferred, posted or resized while they run. Every case runs
// in a child process (fixtures/limits-child.js) so that a crash is a failure, not the end of
// the run. Allowed outcomes: the values of naive.js (checked when it is cheap), or a coded error
// (ERR_SHAPE / ERR_ARG / ERR_TOO_LARGE; ERR_TOO_LARGE required past the memory limit) - never
// a signal, never a peak RSS above 1.5 GB, never more than a few seconds.
// CONVKIT_LIMITS_RUNS sets the random cases per op and mode, CONVKIT_FUZZ_SEED the seed.
const assert = require('assert');
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const fc = require('fast-check');

const RUNS = Number(process.env.CONVKIT_LIMITS_RUNS || 25);
const SEED = Number(process.env.CONVKIT_FUZZ_SEED || 5);
const CHILD = path.join(__dirname, 'fixtures', 'limits-child.js');
// convkit.setMemoryLimit (issue 13): any output or workspace above it is ERR_TOO_LARGE.
const MEMORY_LIMIT = 64 * 2 ** 20;
const MAX_RSS_MB = 1536;
// Sanitizers (scripts/sanitize-addon.sh preloads them) slow everything several times.
const SANITIZED = /asan|ubsan/.test(process.env.LD_PRELOAD || '');
const CASE_SECONDS = Number(process.env.CONVKIT_LIMITS_CASE_SECONDS || (SANITIZED ? 20 : 5));
const REFUSALS = new Set(['ERR_SHAPE', 'ERR_ARG', 'ERR_TOO_LARGE']);
const COMPARE_WORK = 2 ** 22; // naive.js terms we are willing to wait for

// ---- geometry, computed exactly (BigInt): what a correct library must do with a case

const LIMIT31 = 2 ** 31;
const isSize = (v, min) => Number.isInteger(v) && v >= min && v <= LIMIT31;
const big = (v) => BigInt(v);
const prod = (dims) => dims.reduce((a, b) => a * big(b), 1n);
const bytesPer = (dtype) => (dtype === 'float64' ? 8n : 4n);
const nchw = (layout, shape) => (layout === 'NHWC' ? [shape[0], shape[3], shape[1], shape[2]] : shape);
const fromNchw = (layout, n, c, h, w) => (layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w]);
const pairOf = (v, fallback) => (v === undefined ? [fallback, fallback] : Array.isArray(v) ? v : [v, v]);

function convOut(size, pad, k, dilation, stride) {
  const padded = big(size) + 2n * big(pad),
    span = big(dilation) * (big(k) - 1n) + 1n;
  return padded < span ? 0n : (padded - span) / big(stride) + 1n;
}

/** The output shape of a convolution (BigInt entries), or null when the call is invalid. */
function convOutput(layout, xShape, wShape, options) {
  const [n, c, h, w] = nchw(layout, xShape);
  const [kh, kw, cg, cout] = layout === 'NHWC' ? wShape : [wShape[2], wShape[3], wShape[1], wShape[0]];
  const [sh, sw] = pairOf(options.stride, 1),
    [dh, dw] = pairOf(options.dilation, 1),
    [ph, pw] = pairOf(options.padding, 0);
  if (![n, c, h, w, kh, kw, cg, cout, sh, sw, dh, dw].every((v) => isSize(v, 1)) || !isSize(ph, 0) || !isSize(pw, 0)) return null;
  if (cg !== c) return null;
  const oh = convOut(h, ph, kh, dh, sh),
    ow = convOut(w, pw, kw, dw, sw);
  return oh >= 1n && ow >= 1n ? fromNchw(layout, big(n), big(cout), oh, ow) : null;
}

function poolOut(size, pad, k, stride, ceil) {
  const span = big(size) + 2n * big(pad) - big(k);
  if (span < 0n) return 0n;
  let out = (ceil ? (span + big(stride) - 1n) / big(stride) : span / big(stride)) + 1n;
  if (ceil && (out - 1n) * big(stride) >= big(size) + big(pad)) out -= 1n;
  return out;
}

function poolOutput(layout, xShape, options) {
  const [n, c, h, w] = nchw(layout, xShape);
  const [kh, kw] = pairOf(options.kernelSize, 1),
    [sh, sw] = pairOf(options.stride ?? options.kernelSize, 1);
  const [ph, pw] = pairOf(options.padding, 0);
  if (![kh, kw, sh, sw].every((v) => isSize(v, 1)) || !isSize(ph, 0) || !isSize(pw, 0) || 2 * ph > kh || 2 * pw > kw) return null;
  const oh = poolOut(h, ph, kh, sh, !!options.ceilMode),
    ow = poolOut(w, pw, kw, sw, !!options.ceilMode);
  return oh >= 1n && ow >= 1n ? fromNchw(layout, big(n), big(c), oh, ow) : null;
}

function padOutput(layout, xShape, pad) {
  const [n, c, h, w] = nchw(layout, xShape);
  const [ph, pw] = pairOf(pad, 0);
  if (!isSize(ph, 0) || !isSize(pw, 0)) return null;
  return fromNchw(layout, big(n), big(c), big(h) + 2n * big(ph), big(w) + 2n * big(pw));
}

const sameShape = (a, b) => a.length === b.length && a.every((v, i) => big(v) === big(b[i]));

/**
 * Completes a case: `result` (elements of what the call returns, or null if the call is
 * invalid) and `compare` (naive.js is cheap enough). Data shapes the child must build stay small.
 */
function finish(c) {
  let result = null,
    work = Infinity;
  if (c.op === 'conv2d') {
    const y = convOutput(c.layout, c.x, c.w, c.options);
    if (y) (result = prod(y)), (work = Number(result) * Number(prod(c.w)));
  } else if (c.op === 'conv2dBackwardInput') {
    const y = convOutput(c.layout, c.xShape, c.w, c.options);
    if (y && sameShape(y, c.dOut)) (result = prod(c.xShape)), (work = Number(prod(y)) * Number(prod(c.w)) + Number(result));
  } else if (c.op === 'conv2dBackwardFilter') {
    const y = convOutput(c.layout, c.x, c.wShape, c.options);
    if (y && sameShape(y, c.dOut)) (result = prod(c.wShape)), (work = Number(prod(y)) * Number(result));
  } else if (c.op === 'zeroPad') {
    const y = padOutput(c.layout, c.x, c.pad);
    if (y) (result = prod(y)), (work = Number(result));
  } else {
    const y = poolOutput(c.layout, c.x, c.options);
    if (y) (result = c.op === 'pool2dBackward' ? prod(c.x) : prod(y)), (work = Number(prod(y)) * Number(prod(c.x)));
  }
  return { ...c, result: result === null ? null : String(result), compare: result !== null && work <= COMPARE_WORK };
}

// ---- random cases

const EXTREME = [
  2 ** 15,
  2 ** 16,
  11000,
  40000,
  80000,
  2 ** 22,
  2 ** 23,
  2 ** 23 + 1,
  2 ** 30,
  2 ** 30 - 15,
  2 ** 31 - 31,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 31 + 1,
  2 ** 32,
  2 ** 46,
  2 ** 53,
];
const size = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 3 },
  { arbitrary: fc.constantFrom(...EXTREME), weight: 3 },
  { arbitrary: fc.constantFrom(0, -1, 2 ** 31 - 0.5), weight: 1 },
);
const padding = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 2 }), weight: 2 }, { arbitrary: fc.constantFrom(...EXTREME), weight: 3 });
const pair = (arb) => fc.tuple(arb, arb);
const small = (max) => fc.integer({ min: 1, max });
const base = { layout: fc.constantFrom('NHWC', 'NCHW'), dtype: fc.constantFrom('float32', 'float64'), seed: fc.nat(1e6), n: small(2), c: small(2) };

/** Padding that lets a kernel of this span fit an input of this size (so that more calls are valid). */
function fitting(sizeValue, k, dilation) {
  if (![sizeValue, k, dilation].every(Number.isInteger)) return 0;
  const need = (big(dilation) * (big(k) - 1n) + 1n - big(sizeValue) + 1n) / 2n;
  return need > 0n ? Number(need) : 0;
}

const convArb = fc
  .record({
    ...base,
    h: small(4),
    w: small(4),
    kh: small(3),
    kw: small(3),
    cout: small(2),
    stride: pair(size),
    dilation: pair(size),
    padding: fc.option(pair(padding)),
    bias: fc.boolean(),
  })
  .map((r) => {
    const x = fromNchw(r.layout, r.n, r.c, r.h, r.w),
      w = r.layout === 'NHWC' ? [r.kh, r.kw, r.c, r.cout] : [r.cout, r.c, r.kh, r.kw];
    const pad = r.padding ?? [fitting(r.h, r.kh, r.dilation[0]), fitting(r.w, r.kw, r.dilation[1])];
    return {
      op: 'conv2d',
      layout: r.layout,
      dtype: r.dtype,
      seed: r.seed,
      x,
      w,
      bias: r.bias,
      options: { stride: r.stride, dilation: r.dilation, padding: pad },
    };
  });

/** dx of a huge input from a small dOut: the stride is often the input size, so oh is ~1. */
const dxArb = fc
  .record({
    ...base,
    h: size,
    w: size,
    kh: small(3),
    kw: small(3),
    cout: small(2),
    strideIsSize: fc.boolean(),
    stride: pair(size),
    dilation: pair(size),
    padding: pair(padding),
  })
  .map((r) => {
    const xShape = fromNchw(r.layout, r.n, r.c, r.h, r.w),
      w = r.layout === 'NHWC' ? [r.kh, r.kw, r.c, r.cout] : [r.cout, r.c, r.kh, r.kw];
    const options = { stride: r.strideIsSize ? [r.h, r.w] : r.stride, dilation: r.dilation, padding: r.padding };
    return { op: 'conv2dBackwardInput', layout: r.layout, dtype: r.dtype, seed: r.seed, xShape, w, dOut: dOutShape(r.layout, xShape, w, options), options };
  });

/** dw of a huge kernel from small x and dOut: the padding often makes the kernel fit. */
const dwArb = fc
  .record({
    ...base,
    h: small(4),
    w: small(4),
    kh: size,
    kw: size,
    cout: small(2),
    stride: pair(size),
    dilation: pair(size),
    padding: fc.option(pair(padding)),
  })
  .map((r) => {
    const x = fromNchw(r.layout, r.n, r.c, r.h, r.w),
      wShape = r.layout === 'NHWC' ? [r.kh, r.kw, r.c, r.cout] : [r.cout, r.c, r.kh, r.kw];
    const pad = r.padding ?? [fitting(r.h, r.kh, r.dilation[0]), fitting(r.w, r.kw, r.dilation[1])];
    const options = { stride: r.stride, dilation: r.dilation, padding: pad };
    return { op: 'conv2dBackwardFilter', layout: r.layout, dtype: r.dtype, seed: r.seed, x, wShape, dOut: dOutShape(r.layout, x, wShape, options), options };
  });

/** The forward's output shape when it is small enough to build, else one element (a mismatch unless it is right). */
function dOutShape(layout, xShape, wShape, options) {
  const y = convOutput(layout, xShape, wShape, options);
  return y && prod(y) <= 2n ** 16n ? y.map(Number) : [1, 1, 1, 1];
}

const poolArb = (op) =>
  fc
    .record({
      ...base,
      h: small(5),
      w: small(5),
      kernelSize: pair(size),
      stride: fc.option(pair(size)),
      pad: fc.constantFrom('zero', 'half', 'free'),
      free: pair(padding),
      ceilMode: fc.boolean(),
      countIncludePad: fc.boolean(),
      mode: fc.constantFrom('max', 'avg'),
    })
    .map((r) => {
      const half = r.kernelSize.map((k) => (Number.isInteger(k) && k > 0 ? Math.floor(k / 2) : 0));
      const pad = { zero: [0, 0], half, free: r.free }[r.pad];
      const options = { kernelSize: r.kernelSize, stride: r.stride ?? undefined, padding: pad, ceilMode: r.ceilMode, countIncludePad: r.countIncludePad };
      const name = op === 'pool' ? (r.mode === 'max' ? 'maxPool2d' : 'avgPool2d') : op;
      return { op: name, poolMode: r.mode, layout: r.layout, dtype: r.dtype, seed: r.seed, x: fromNchw(r.layout, r.n, r.c, r.h, r.w), options };
    });

const padArb = fc
  .record({ ...base, h: small(4), w: small(4), pad: fc.oneof(padding, pair(padding)) })
  .map((r) => ({ op: 'zeroPad', layout: r.layout, dtype: r.dtype, seed: r.seed, x: fromNchw(r.layout, r.n, r.c, r.h, r.w), pad: r.pad }));

// ---- issue 13's own geometries, every layout and dtype

const WRAP = { stride: [2, 2], padding: [2 ** 30, 2 ** 30 - 15], dilation: [2 ** 31 - 1, 2 ** 31 - 31] };
function issueCases(op) {
  const out = [];
  for (const layout of ['NHWC', 'NCHW'])
    for (const dtype of ['float32', 'float64']) {
      const one = [1, 1, 1, 1],
        k2 = layout === 'NHWC' ? [2, 2, 1, 1] : [1, 1, 2, 2];
      const geometries = [
        WRAP, // item 1: a padded plane of ~2^31 x 2^31 whose byte size wraps
        { dilation: [40000, 40000], padding: [20000, 20000] }, // item 3: 6 GB of scratch for one output
        { dilation: [80000, 80000], padding: [40000, 40000] }, // item 3: OOM kill
      ];
      for (const options of geometries) {
        if (op === 'conv2d') out.push({ op, layout, dtype, seed: 1, x: one, w: k2, options });
        if (op === 'conv2dBackwardInput') out.push({ op, layout, dtype, seed: 1, xShape: one, w: k2, dOut: dOutShape(layout, one, k2, options), options });
        if (op === 'conv2dBackwardFilter') out.push({ op, layout, dtype, seed: 1, x: one, wShape: k2, dOut: dOutShape(layout, one, k2, options), options });
      }
      // item 3: padding 11000 turns one element into a multi-GB output
      if (op === 'conv2d') out.push({ op, layout, dtype, seed: 1, x: one, w: one, options: { padding: 11000 } });
      if (op === 'zeroPad') out.push({ op, layout, dtype, seed: 1, x: one, pad: 11000 });
    }
  return out;
}

// ---- running cases in children

/**
 * Runs the cases in child processes, restarting after a crash, hang or memory blow-up at the
 * case after it. Resolves with one report per case (outcome 'crash' / 'timeout' / 'rss' for
 * those three).
 */
function runCases(cases) {
  const reports = new Array(cases.length);
  const input = JSON.stringify({ cases, memoryLimit: MEMORY_LIMIT, maxRssMb: MAX_RSS_MB });
  const runFrom = (first) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['--expose-gc', CHILD, String(first)], { stdio: ['pipe', 'pipe', 'pipe'] });
      let current = null,
        startedAt = 0,
        stderr = '',
        pending = '',
        killedFor = null,
        progressed = false;
      child.stdin.on('error', () => {}); // a child that dies at once: reported on 'close'
      child.stdin.end(input);
      child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20000)));
      child.stdout.on('data', (d) => {
        pending += d;
        const lines = pending.split('\n');
        pending = lines.pop();
        for (const line of lines) {
          const [tag, index, ...rest] = line.split(' ');
          if (tag === 'start') (current = Number(index)), (startedAt = Date.now());
          else if (tag === 'done') (reports[Number(index)] = JSON.parse(rest.join(' '))), (current = null), (progressed = true);
          else if (tag === 'fatal') stderr += `\n${line}`;
        }
      });
      // Kill a case that hangs or eats memory: the machine is shared, the report is the point.
      const watchdog = setInterval(() => {
        if (current === null) return;
        if (Date.now() - startedAt > (CASE_SECONDS + 10) * 1000) killedFor = { outcome: 'timeout' };
        const rssMb = residentMb(child.pid);
        if (rssMb > MAX_RSS_MB * 1.5) killedFor = { outcome: 'rss', maxRssMb: rssMb };
        if (killedFor) child.kill('SIGKILL');
      }, 25);
      child.on('close', (code, signal) => {
        clearInterval(watchdog);
        const crash = { outcome: 'crash', code, signal, stderr: crashSummary(stderr) };
        if (current !== null) {
          reports[current] = reports[current] || killedFor || crash;
          return resolve(current + 1);
        }
        // Between cases: done, or restarting for a fresh peak RSS (the child leaves after a
        // case above the bound, since maxRSS only grows). No progress at all is a crash.
        const next = reports.findIndex((r, i) => i >= first && !r);
        if (next >= 0 && !progressed) reports[next] = crash;
        resolve(next < 0 ? -1 : progressed ? next : next + 1);
      });
    });
  return (async () => {
    for (let first = 0; first >= 0 && first < cases.length; ) first = await runFrom(first);
    return reports;
  })();
}

/** The head of a sanitizer report (its first line and top frames), else the last lines. */
function crashSummary(stderr) {
  const lines = stderr.trim().split('\n');
  const first = lines.findIndex((l) => /ERROR: \w+Sanitizer|runtime error|FATAL ERROR|Segmentation fault/.test(l));
  if (first < 0) return lines.slice(-4).join(' | ');
  const frames = lines
    .slice(first + 1)
    .filter((l) => /^\s+#\d+ /.test(l))
    .slice(0, 4)
    .map((l) => l.trim().replace(/\s*\(\/.*?\)/, ''));
  return [lines[first].trim(), ...frames].join(' | ');
}

function residentMb(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Why a report breaks the rules for its case, or null. */
function verdict(c, r) {
  if (r.outcome === 'crash') return `crashed (${r.signal || `exit ${r.code}`})${r.stderr ? `: ${r.stderr}` : ''}`;
  if (r.outcome === 'timeout') return `still running after ${CASE_SECONDS + 10} s (killed)`;
  if (r.outcome === 'rss') return `resident memory reached ${Math.round(r.maxRssMb)} MB (killed)`;
  if (r.ms > CASE_SECONDS * 1000) return `took ${Math.round(r.ms)} ms`;
  if (r.maxRssMb > MAX_RSS_MB) return `peak RSS ${Math.round(r.maxRssMb)} MB`;
  if (r.corrupted) return `${r.corrupted} (memory written after its owner was freed)`;
  const got = r.outcome === 'ok' ? 'returned' : `threw ${r.error}`;
  if (c.detach) {
    if (r.outcome === 'ok' && /: length 0,/.test(r.mismatch || ''))
      return `resolved, but with an empty result (its ${c.detach.target} was taken away mid-op): it must resolve with the values or reject with a code`;
    if (r.outcome === 'ok') return r.mismatch ? `resolved with wrong values: ${r.mismatch}` : null;
    return /^ERR_/.test(r.error) ? null : `${got}: ${r.message}`;
  }
  if (c.result === null) return r.outcome === 'error' && REFUSALS.has(r.error) ? null : `${got}; an invalid call must throw ERR_SHAPE/ERR_ARG/ERR_TOO_LARGE`;
  const bytes = BigInt(c.result) * bytesPer(c.dtype);
  if (bytes > BigInt(MEMORY_LIMIT))
    return r.error === 'ERR_TOO_LARGE' ? null : `${got}; ${bytes} bytes past the ${MEMORY_LIMIT}-byte limit must be ERR_TOO_LARGE`;
  if (r.outcome === 'error') {
    if (r.error === 'ERR_TOO_LARGE' && bytes * 8n > BigInt(MEMORY_LIMIT)) return null; // close to the limit: either
    return `${got} (${r.message}); the call is valid with a ${bytes}-byte result`;
  }
  return r.mismatch ? `wrong values: ${r.mismatch}` : null;
}

function describeCase(c) {
  const { seed, compare, result, ...rest } = c;
  return JSON.stringify(rest);
}

async function check(cases) {
  const reports = await runCases(cases);
  const failures = [];
  cases.forEach((c, i) => {
    const why = verdict(c, reports[i]);
    if (why) failures.push(`${describeCase(c)}\n      -> ${why}`);
  });
  if (!failures.length) return;
  // One example of each kind of failure first (the kind: the verdict without its numbers).
  const kind = (f) => f.split('-> ')[1].replace(/[0-9]+/g, '#');
  const seen = new Set();
  const firsts = failures.filter((f) => !seen.has(kind(f)) && seen.add(kind(f)));
  const shown = [...firsts, ...failures.filter((f) => !firsts.includes(f))].slice(0, Math.max(12, firsts.length));
  assert.fail(`${failures.length} of ${cases.length} cases failed:\n    ${shown.join('\n    ')}${failures.length > shown.length ? '\n    ...' : ''}`);
}

const sample = (arb, runs, salt) => fc.sample(arb, { seed: SEED + salt, numRuns: runs }).map(finish);

// ---- detached, transferred and resized buffers under async calls

const DETACH_TARGETS = {
  conv2d: ['x', 'w', 'out'],
  conv2dBackwardInput: ['dOut', 'w'],
  conv2dBackwardFilter: ['dOut', 'x'],
  maxPool2d: ['x', 'out'],
  avgPool2d: ['x', 'out'],
  pool2dBackward: ['dOut', 'argmax'],
  zeroPad: ['x'],
};

/** Work big enough to still be running when the buffer goes; small enough for naive.js. */
function detachCase(op, target, action, layout, dtype, seed) {
  const shape = (n, c, h, w) => fromNchw(layout, n, c, h, w);
  const conv = { options: { padding: [1, 1] }, x: shape(2, 16, 24, 24), w: layout === 'NHWC' ? [3, 3, 16, 16] : [16, 16, 3, 3] };
  const pool = { x: shape(2, 8, 48, 48), options: { kernelSize: 3, stride: 2, padding: 1 } };
  const base = { op, layout, dtype, seed, call: 'async', detach: { target, action } };
  let c;
  if (op === 'conv2d') c = { ...base, ...conv, outShape: target === 'out' ? shape(2, 16, 24, 24) : undefined };
  else if (op === 'conv2dBackwardInput') c = { ...base, w: conv.w, xShape: conv.x, dOut: shape(2, 16, 24, 24), options: conv.options };
  else if (op === 'conv2dBackwardFilter') c = { ...base, x: conv.x, wShape: conv.w, dOut: shape(2, 16, 24, 24), options: conv.options };
  else if (op === 'zeroPad') c = { ...base, x: pool.x, pad: 3 };
  else c = { ...base, ...pool, poolMode: op === 'avgPool2d' ? 'avg' : 'max', outShape: target === 'out' ? shape(2, 8, 24, 24) : undefined };
  if (op === 'pool2dBackward') c.poolMode = seed % 2 && target !== 'argmax' ? 'avg' : 'max';
  return { ...finish(c), compare: true };
}

describe('fuzz near the size limits: correct values or a coded error, in bounded time and memory', function () {
  this.timeout(0); // each case has its own bound (CASE_SECONDS), enforced by the watchdog

  const OPS = [
    ['conv2d', convArb],
    ['conv2dBackwardInput', dxArb],
    ['conv2dBackwardFilter', dwArb],
    ['maxPool2d and avgPool2d', poolArb('pool')],
    ['pool2dBackward', poolArb('pool2dBackward')],
    ['zeroPad', padArb],
  ];
  OPS.forEach(([name, arb], index) => {
    for (const mode of ['sync', 'async']) {
      it(`${name} (${mode})`, async function () {
        const cases = [...issueCases(name.split(' ')[0]).map(finish), ...sample(arb, RUNS, index)];
        await check(cases.map((c) => ({ ...c, call: mode })));
      });
    }
  });

  it('async calls whose buffers are transferred, posted or resized mid-op resolve correctly or reject with a code', async function () {
    const cases = [];
    let seed = SEED;
    for (const [op, targets] of Object.entries(DETACH_TARGETS))
      for (const target of targets)
        for (const action of ['transfer', 'port', 'resize']) {
          if (target === 'argmax' && action === 'resize') continue; // the cache's own Int32Array
          seed += 1;
          cases.push(detachCase(op, target, action, seed % 2 ? 'NHWC' : 'NCHW', (seed >> 1) % 2 ? 'float64' : 'float32', seed));
        }
    await check(cases);
  });
});
