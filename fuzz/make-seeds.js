#!/usr/bin/env node
'use strict';
// Writes the seed corpus of fuzz/native_shapes.cpp (fuzz/corpus/native_shapes/seed-*): real
// layer shapes on every kernel path, and the issue-13 geometries, in the target's byte format
// (fuzz/README.md). Run it again after changing the format; libFuzzer adds its own finds next
// to these files when run with -merge or when scripts/fuzz-native.sh is told to keep them.
const fs = require('fs');
const path = require('path');

const OPS = { forward: 0, forwardPacked: 1, backwardInput: 2, backwardFilter: 3, poolForward: 4, poolBackward: 5, pad: 6, gemm: 7 };

/** An integer in the target's encoding: one byte below 12, else tag 0xf0 and 8 bytes LE. */
function int(v) {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 12) return [v];
  const out = [0xf0];
  let big = BigInt.asUintN(64, BigInt(v));
  for (let i = 0; i < 8; i++, big >>= 8n) out.push(Number(big & 0xffn));
  return out;
}

function header(op, { f64 = false, isa = 0, threads = 1, bias = false, derive = true, compare = true, extra = 0 } = {}) {
  const flags = (f64 ? 1 : 0) | (isa << 1) | ((threads - 1) << 3) | (bias ? 32 : 0) | (derive ? 64 : 0) | (compare ? 128 : 0);
  return [OPS[op], flags, extra];
}

/** A fixed byte pattern the values are drawn from. */
function values(count, seed) {
  const out = [];
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out.push((s >>> 16) & 0xff);
  }
  return out;
}

function conv(op, layout, { n = 1, h, w, c, kh, kw, cout, groups = 1, stride = [1, 1], pad = [0, 0, 0, 0], dilation = [1, 1] }, opts = {}) {
  const fields = [n, h, w, c, kh, kw, cout, groups, ...stride, ...pad, ...dilation];
  return [...header(op, opts), layout === 'NCHW' ? 1 : 0, ...fields.flatMap(int), ...values(64, h * 31 + c)];
}

function pool(op, layout, { mode, ceil = false, includePad = true, n = 1, c, h, w, kh, kw, stride, pad = [0, 0] }, opts = {}) {
  const modeByte = (mode === 'avg' ? 1 : 0) | (ceil ? 2 : 0) | (includePad ? 4 : 0);
  const fields = [n, c, h, w, kh, kw, ...stride, ...pad];
  return [...header(op, opts), layout === 'NCHW' ? 1 : 0, modeByte, ...fields.flatMap(int), ...values(64, h * 17 + c)];
}

const seeds = {
  'lenet-conv1': conv('forward', 'NHWC', { h: 28, w: 28, c: 1, kh: 5, kw: 5, cout: 6 }),
  'lenet-conv2-dx': conv('backwardInput', 'NCHW', { n: 2, h: 12, w: 12, c: 6, kh: 5, kw: 5, cout: 16 }),
  '3x3-pad1-dw-bias': conv('backwardFilter', 'NHWC', { n: 2, h: 8, w: 8, c: 8, kh: 3, kw: 3, cout: 16, pad: [1, 1, 1, 1] }, { bias: true, threads: 2 }),
  'depthwise-s2-f64': conv('forward', 'NCHW', { h: 9, w: 9, c: 8, kh: 3, kw: 3, cout: 8, groups: 8, stride: [2, 2], pad: [1, 1, 1, 1] }, { f64: true }),
  'depthwise-dx': conv('backwardInput', 'NHWC', { h: 7, w: 7, c: 4, kh: 3, kw: 3, cout: 8, groups: 4, pad: [1, 1, 1, 1] }),
  'dilated-dw': conv('backwardFilter', 'NCHW', { n: 2, h: 10, w: 10, c: 3, kh: 3, kw: 3, cout: 4, dilation: [2, 2], pad: [2, 2, 2, 2] }, { bias: true }),
  'pointwise-packed': conv('forwardPacked', 'NHWC', { h: 6, w: 6, c: 16, kh: 1, kw: 1, cout: 32 }, { bias: true }),
  'gemm-path-s3': conv('forward', 'NCHW', { h: 11, w: 11, c: 5, kh: 2, kw: 2, cout: 7, stride: [3, 3] }, { f64: true, threads: 3 }),
  'wide-cout-dx': conv('backwardInput', 'NHWC', { h: 6, w: 6, c: 24, kh: 3, kw: 3, cout: 64, stride: [2, 2], pad: [0, 1, 1, 0] }),
  'wide-cout-dw': conv('backwardFilter', 'NCHW', { h: 6, w: 5, c: 24, kh: 3, kw: 3, cout: 64, groups: 2 }, { threads: 4 }),
  // Issue 13 item 1: a padded plane of about 2^31 x 2^31 whose byte size wraps.
  'issue13-wrap-forward': conv('forward', 'NHWC', {
    h: 1,
    w: 1,
    c: 1,
    kh: 2,
    kw: 2,
    cout: 1,
    stride: [2, 2],
    pad: [2 ** 30, 2 ** 30 - 15, 2 ** 30, 2 ** 30 - 15],
    dilation: [2 ** 31 - 1, 2 ** 31 - 31],
  }),
  'issue13-wrap-dw-f64': conv(
    'backwardFilter',
    'NCHW',
    { h: 1, w: 1, c: 1, kh: 2, kw: 2, cout: 1, stride: [2, 2], pad: [2 ** 30, 2 ** 30 - 15, 2 ** 30, 2 ** 30 - 15], dilation: [2 ** 31 - 1, 2 ** 31 - 31] },
    { f64: true },
  ),
  'issue13-wrap-dx': conv('backwardInput', 'NHWC', {
    h: 1,
    w: 1,
    c: 1,
    kh: 2,
    kw: 2,
    cout: 1,
    pad: [2 ** 30, 2 ** 30 - 15, 2 ** 30, 2 ** 30 - 15],
    dilation: [2 ** 31 - 1, 2 ** 31 - 31],
  }),
  // Issue 13 item 3: one input element, dilation 40000: gigabytes of scratch for one output.
  'issue13-dilation-40000': conv('forward', 'NHWC', { h: 1, w: 1, c: 1, kh: 2, kw: 2, cout: 1, pad: [20000, 20000, 20000, 20000], dilation: [40000, 40000] }),
  // Found by this target: the NHWC GEMM forward's input band is sized by the padding (conv/nhwc_band.hpp).
  'gemm-band-padding-11000': conv(
    'forward',
    'NHWC',
    { n: 6, h: 10, w: 2, c: 10, kh: 2, kw: 2, cout: 2, groups: 2, stride: [10, 11000], pad: [11000, 11000, 11000, 11000], dilation: [11000, 11000] },
    { threads: 4 },
  ),
  'near-2p46-refused': conv('forward', 'NHWC', { n: 2 ** 23, h: 2 ** 23 + 1, w: 1, c: 1, kh: 1, kw: 1, cout: 1 }),
  'max-2x2': pool('poolForward', 'NHWC', { mode: 'max', c: 3, h: 8, w: 8, kh: 2, kw: 2, stride: [2, 2] }),
  'avg-3x3-ceil-backward': pool(
    'poolBackward',
    'NCHW',
    { mode: 'avg', ceil: true, includePad: false, n: 2, c: 3, h: 9, w: 8, kh: 3, kw: 3, stride: [2, 2], pad: [1, 1] },
    { f64: true },
  ),
  'max-backward-fuzzed-argmax': pool('poolBackward', 'NHWC', { mode: 'max', c: 2, h: 6, w: 6, kh: 3, kw: 2, stride: [1, 2], pad: [1, 1] }, { extra: 1 }),
  // Found by this target: validate(PoolShape) computed 2 * padding in int64 before bounding it
  // (signed overflow; only the C++ API can pass such a padding, JS stops at 2^53).
  'pool-padding-2p62': pool('poolForward', 'NHWC', { mode: 'max', c: 1, h: 1, w: 1, kh: 1, kw: 1, stride: [1, 1], pad: [2n ** 62n, 0] }),
  pad: [...header('pad'), 1, ...[2, 3, 5, 4, 1, 2, 3, 0].flatMap(int), ...values(32, 9)],
  'gemm-contiguous': [...header('gemm', { bias: true }), ...[37, 19, 23, 0, 1, 0, 1].flatMap(int), ...values(64, 5)],
  'gemm-transposed-accumulate': [...header('gemm', { derive: false, extra: 1, f64: true }), ...[13, 11, 9, 1, 13, 1, 9].flatMap(int), ...values(64, 6)],
};

const dir = path.join(__dirname, 'corpus', 'native_shapes');
fs.mkdirSync(dir, { recursive: true });
for (const [name, bytes] of Object.entries(seeds)) fs.writeFileSync(path.join(dir, `seed-${name}`), Buffer.from(bytes));
console.log(`make-seeds: ${Object.keys(seeds).length} seeds in ${path.relative(process.cwd(), dir)}`);
