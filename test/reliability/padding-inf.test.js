'use strict';
// Issue 13, item 9: zero padding must contribute nothing, on every kernel path. A padded tap
// used to be computed as 0 * w, so a +Inf weight gave NaN wherever its tap fell on the padding
// (forward: the direct and GEMM paths) or on the padding of dY (the dx paths that run as a
// convolution of padded dY); likewise a +Inf in dY met x's padding in dw. Each case puts +Inf at
// one tap of positive finite weights (forward, dx) or at one element of positive dY (dw), feeds
// positive finite data and compares with naive.js, which skips padded taps entirely: results
// where the Inf meets real input must be +Inf, all others finite and equal to the reference; NaN
// fails.
//
// Each case names the path its shape is meant to cover, and a test per case checks it against
// conv2dPlan, which reports the choice of native/kernels/conv/choose.hpp (dw takes the forward's
// kind of path); native/tests/test_conv_padding.cpp asserts the same shapes' plans. In short: the
// forward takes the direct kernel when there are at most 16 output channels per group and
// stride_w <= 2 (and the layer is not depthwise), the depthwise kernels when there is one input
// channel per group, else the GEMM (NHWC: input bands; NCHW: im2col, gathered when the output is
// under 16 wide, copied by row runs otherwise). dx takes the direct kernel for stride 1 and at
// most 16 input channels per group, the depthwise kernels, then (NHWC, stride 1, padding within
// the kernel's reach) the banded GEMM forward over padded dY, else GEMM + col2im. CI runs this
// file once per ISA (CONVKIT_ISA), so each path is covered by the generic, AVX2 and AVX-512
// kernels.
const assert = require('assert');
const convkit = require('../../dist');
const naive = require('./naive');
const { rng, TOLERANCE } = require('../helpers');

const GEMM = { NHWC: 'GEMM over input bands', NCHW: 'GEMM over gathered im2col (output under 16 wide)' };
const GEMM_WIDE = { NHWC: 'GEMM over input bands', NCHW: 'GEMM over row-run im2col (output 16+ wide)' };
const COL2IM = { NHWC: 'GEMM + NHWC col2im', NCHW: 'GEMM + NCHW col2im' };
const AS_FORWARD = { NHWC: 'banded GEMM forward over padded dY', NCHW: 'GEMM + NCHW col2im' };

// n, c, h, w: the input; cout, k (square kernel), stride, padding, dilation, groups: the layer.
const CASES = [
  { n: 2, c: 3, h: 7, w: 9, cout: 6, k: 5, padding: 2, forward: 'direct', dx: 'direct (dY padded by 2)' },
  { n: 1, c: 2, h: 9, w: 11, cout: 4, k: 3, stride: 2, padding: 3, dilation: 2, forward: 'direct, stride 2', dx: COL2IM },
  { n: 1, c: 2, h: 4, w: 40, cout: 3, k: 3, padding: 1, forward: 'direct, several row chunks', dx: 'direct, several row chunks' },
  // 'same' with an even kernel pads 1 top/left and 2 bottom/right.
  { n: 1, c: 4, h: 6, w: 7, cout: 6, k: 4, padding: 'same', forward: 'direct, uneven padding', dx: 'direct, uneven padding' },
  // Padding beyond the kernel's reach: whole windows in the padding (output = bias), and dx's
  // padding of dY is negative (dY cropped, so every dx element meets the Inf tap: dyCropped).
  { n: 1, c: 2, h: 5, w: 6, cout: 5, k: 3, padding: 3, forward: 'direct, windows wholly in the padding', dx: 'direct, negative dY padding', dyCropped: true },
  { n: 1, c: 5, h: 3, w: 4, cout: 6, k: 1, padding: 1, forward: 'direct, 1x1 kernel', dx: 'direct, 1x1 kernel', dyCropped: true },
  // Depthwise: NHWC multiplier 1 with 3x3 stride 1 takes the register-blocked kernels (40 channels
  // fill whole blocks on every ISA), 5x5 the fixed-size interior kernel.
  { n: 2, c: 40, h: 6, w: 13, cout: 40, k: 3, padding: 1, groups: 40, forward: 'depthwise', dx: 'depthwise (flipped forward kernel in NHWC)' },
  { n: 1, c: 9, h: 8, w: 8, cout: 9, k: 5, padding: 2, groups: 9, forward: 'depthwise 5x5', dx: 'depthwise 5x5' },
  { n: 1, c: 4, h: 7, w: 7, cout: 8, k: 3, stride: 2, padding: 1, groups: 4, forward: 'depthwise, multiplier 2', dx: 'depthwise scatter' },
  { n: 1, c: 1, h: 6, w: 6, cout: 20, k: 3, padding: 1, forward: 'depthwise (one input channel, 20 outputs)', dx: 'direct' },
  // More than 16 output channels per group: the GEMM forward.
  { n: 2, c: 4, h: 6, w: 7, cout: 24, k: 3, padding: 1, forward: GEMM, dx: 'direct' },
  { n: 1, c: 3, h: 4, w: 20, cout: 20, k: 3, padding: [1, 2], forward: GEMM_WIDE, dx: 'direct' },
  { n: 1, c: 6, h: 9, w: 10, cout: 40, k: 3, stride: 2, padding: 2, dilation: 2, groups: 2, forward: GEMM, dx: COL2IM },
  { n: 1, c: 5, h: 3, w: 4, cout: 24, k: 1, padding: 1, forward: GEMM, dx: 'direct, 1x1 kernel', dyCropped: true },
  // K = 576 spans several of the GEMM's k blocks on every ISA.
  { n: 1, c: 64, h: 4, w: 5, cout: 24, k: 3, padding: 1, forward: GEMM, dx: AS_FORWARD },
  { n: 1, c: 3, h: 8, w: 9, cout: 6, k: 3, stride: 3, padding: 2, forward: GEMM, dx: COL2IM },
  // More than 16 input channels per group: dx through the GEMM.
  { n: 2, c: 20, h: 6, w: 7, cout: 8, k: 3, padding: 1, forward: 'direct', dx: AS_FORWARD },
  { n: 1, c: 18, h: 7, w: 9, cout: 8, k: 3, padding: 'same', dilation: 2, forward: 'direct', dx: AS_FORWARD },
  { n: 1, c: 20, h: 7, w: 8, cout: 8, k: 3, stride: 2, padding: 1, forward: 'direct, stride 2', dx: COL2IM },
  { n: 1, c: 20, h: 4, w: 5, cout: 8, k: 3, padding: 3, forward: 'direct', dx: COL2IM, dyCropped: true },
];

const pathOf = (path, layout) => (typeof path === 'string' ? path : path[layout]);

// conv2dPlan's algorithm for the path a case names (dw: the forward's kind of path).
function algorithmOf(path, pass, layout) {
  const nchw = layout === 'NCHW';
  if (path.startsWith('direct')) return 'direct';
  if (path.startsWith('depthwise')) return 'depthwise';
  if (pass === 'backwardFilter') return nchw ? 'filter_gemm_nchw' : 'filter_gemm_nhwc';
  if (path.startsWith('banded GEMM forward')) return 'dx_as_forward';
  if (path.includes('col2im')) return nchw ? 'col2im_nchw' : 'col2im_nhwc';
  return nchw ? 'gemm_nchw' : 'gemm_nhwc_band';
}

function describeCase(t) {
  const opts = [`k${t.k}`, `pad ${JSON.stringify(t.padding)}`];
  if (t.stride) opts.push(`stride ${t.stride}`);
  if (t.dilation) opts.push(`dilation ${t.dilation}`);
  if (t.groups) opts.push(`groups ${t.groups}`);
  return `${t.c} -> ${t.cout}, ${t.h}x${t.w}, ${opts.join(', ')}`;
}

/** Positive finite values in [0.5, 1.5): sums of them never cancel an Inf or make a NaN. */
function positive(random, count, Ctor) {
  const out = new Ctor(count);
  for (let i = 0; i < count; i++) out[i] = 0.5 + random.uniform();
  return out;
}

/**
 * Every element: NaN fails; expected +Inf needs exactly +Inf; a finite expectation needs a finite
 * value within tolerance. Returns how many expected values are finite in `channel`.
 */
function assertPaddingSkipped(actual, expected, channelOf, channel, Ctor, label, needsInfinity = true) {
  const tolerance = Ctor === Float64Array ? TOLERANCE.float64 : TOLERANCE.float32;
  assert.strictEqual(actual.length, expected.length, `${label}: length`);
  let bad = 0,
    first = '',
    infinite = 0,
    finiteInChannel = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i],
      a = actual[i];
    let ok;
    if (e === Infinity) {
      ok = a === Infinity;
      infinite++;
    } else {
      ok = Number.isFinite(e) && Number.isFinite(a) && Math.abs(a - e) <= tolerance.abs + tolerance.rel * Math.abs(e);
      if (channelOf(i) === channel) finiteInChannel++;
    }
    if (!ok && bad++ === 0) first = `first at ${i}: got ${a}, expected ${e}`;
  }
  if (bad > 0) assert.fail(`${label}: ${bad} of ${expected.length} elements wrong; ${first}`);
  if (needsInfinity) assert.ok(infinite > 0, `${label}: the Inf never meets real input, the case tests nothing`);
  return finiteInChannel;
}

/** Channel of flat index i in an activation of `channels` channels and `plane` pixels per image. */
function channelIndexer(layout, channels, plane) {
  return layout === 'NHWC' ? (i) => i % channels : (i) => Math.floor(i / plane) % channels;
}

function weightShape(layout, t, cg) {
  return layout === 'NHWC' ? [t.k, t.k, cg, t.cout] : [t.cout, cg, t.k, t.k];
}

function weightIndex(layout, t, cg, o, i, y, x) {
  return layout === 'NHWC' ? ((y * t.k + x) * cg + i) * t.cout + o : ((o * cg + i) * t.k + y) * t.k + x;
}

// The Inf tap: the first tap of the first filter (it falls on the top/left padding) or the last
// tap of the last filter (bottom/right padding, last group).
const INF_TAPS = [
  { name: 'first tap', at: () => ({ o: 0, i: 0, y: 0, x: 0 }) },
  { name: 'last tap', at: (t, cg) => ({ o: t.cout - 1, i: cg - 1, y: t.k - 1, x: t.k - 1 }) },
];

/** [top, left, bottom, right] padding of a case, 'same' as PyTorch splits it. */
function padsOf(t) {
  if (t.padding === 'same') {
    const total = (t.dilation || 1) * (t.k - 1);
    return [Math.floor(total / 2), Math.floor(total / 2), total - Math.floor(total / 2), total - Math.floor(total / 2)];
  }
  const [ph, pw] = Array.isArray(t.padding) ? t.padding : [t.padding, t.padding];
  return [ph, pw, ph, pw];
}

/**
 * The first (or last) output pixel whose window has taps both on the input and on the padding,
 * or failing that (a 1x1 kernel) one wholly on the padding: { at: [oy, ox], mixed }. An Inf in dY
 * there must reach the dw of its taps on the input only.
 */
function paddedPixel(t, oh, ow, fromEnd) {
  const [top, left] = padsOf(t),
    stride = t.stride || 1,
    dilation = t.dilation || 1;
  const inside = (o, pad, size) => {
    let n = 0;
    for (let a = 0; a < t.k; a++) {
      const i = o * stride - pad + a * dilation;
      if (i >= 0 && i < size) n++;
    }
    return n;
  };
  let empty = null;
  for (let p = 0; p < oh * ow; p++) {
    const q = fromEnd ? oh * ow - 1 - p : p;
    const at = [Math.floor(q / ow), q % ow];
    const taps = inside(at[0], top, t.h) * inside(at[1], left, t.w);
    if (taps > 0 && taps < t.k * t.k) return { at, mixed: true };
    if (taps === 0 && !empty) empty = { at, mixed: false };
  }
  return empty;
}

describe('padding contributes nothing next to an Inf weight or dY (issue 13, item 9)', function () {
  this.timeout(120000);

  for (const t of CASES)
    for (const layout of ['NHWC', 'NCHW'])
      for (const Ctor of [Float32Array, Float64Array]) {
        const groups = t.groups || 1,
          cg = t.c / groups;
        const options = { layout, padding: t.padding, stride: t.stride || 1, dilation: t.dilation || 1, groups };
        const xShape = layout === 'NHWC' ? [t.n, t.h, t.w, t.c] : [t.n, t.c, t.h, t.w];
        const wShape = weightShape(layout, t, cg);
        const label = `${layout} ${Ctor.name} ${describeCase(t)}`;

        it(`each pass takes the path it is meant to cover: ${label}`, function () {
          const x = { data: new Ctor(xShape.reduce((a, b) => a * b)), shape: xShape, layout };
          const w = { data: new Ctor(wShape.reduce((a, b) => a * b)), shape: wShape, layout };
          const plan = convkit.conv2dPlan(x, w, options);
          assert.strictEqual(plan.forward.algorithm, algorithmOf(pathOf(t.forward, layout), 'forward', layout));
          assert.strictEqual(plan.backwardInput.algorithm, algorithmOf(pathOf(t.dx, layout), 'backwardInput', layout));
          assert.strictEqual(plan.backwardFilter.algorithm, algorithmOf(pathOf(t.forward, layout), 'backwardFilter', layout));
        });

        it(`forward, ${pathOf(t.forward, layout)}: ${label}`, function () {
          const random = rng(1000 + CASES.indexOf(t));
          const x = {
            data: positive(
              random,
              xShape.reduce((a, b) => a * b),
              Ctor,
            ),
            shape: xShape,
            layout,
          };
          const b = positive(random, t.cout, Ctor);
          let paddedChecked = 0;
          for (const tap of INF_TAPS) {
            const w = positive(
              random,
              wShape.reduce((a, v) => a * v),
              Ctor,
            );
            const at = tap.at(t, cg);
            w[weightIndex(layout, t, cg, at.o, at.i, at.y, at.x)] = Infinity;
            const expected = naive.conv2d(x.data, xShape, w, wShape, b, layout, options);
            const y = convkit.conv2d(x, { data: w, shape: wShape, layout }, b, options);
            assert.deepStrictEqual(y.shape, expected.shape);
            const [oh, ow] = layout === 'NHWC' ? y.shape.slice(1, 3) : y.shape.slice(2, 4);
            paddedChecked += assertPaddingSkipped(y.data, expected.data, channelIndexer(layout, t.cout, oh * ow), at.o, Ctor, `${label} ${tap.name}`);
            if (tap === INF_TAPS[0] && pathOf(t.forward, layout).startsWith('GEMM')) {
              // The same through weights packed ahead of the call.
              const packed = convkit.packConv2dWeights({ data: w, shape: wShape, layout }, { layout, groups });
              const yPacked = convkit.conv2d(x, packed, b, options);
              assertPaddingSkipped(yPacked.data, expected.data, channelIndexer(layout, t.cout, oh * ow), at.o, Ctor, `${label} packed`);
            }
          }
          assert.ok(paddedChecked > 0, `${label}: the Inf tap never falls on the padding, the case tests nothing`);
        });

        it(`dx, ${pathOf(t.dx, layout)}: ${label}`, function () {
          const random = rng(2000 + CASES.indexOf(t));
          const unusedX = new Float64Array(xShape.reduce((a, b) => a * b));
          const unusedW = new Float64Array(wShape.reduce((a, b) => a * b));
          const yShape = naive.conv2d(unusedX, xShape, unusedW, wShape, null, layout, options).shape;
          const dy = {
            data: positive(
              random,
              yShape.reduce((a, b) => a * b),
              Ctor,
            ),
            shape: yShape,
            layout,
          };
          let paddedChecked = 0;
          for (const tap of INF_TAPS) {
            const w = positive(
              random,
              wShape.reduce((a, v) => a * v),
              Ctor,
            );
            const at = tap.at(t, cg);
            w[weightIndex(layout, t, cg, at.o, at.i, at.y, at.x)] = Infinity;
            const expected = naive.conv2dBackward(dy.data, unusedX, xShape, w, wShape, false, layout, options).dx;
            const dx = convkit.conv2dBackwardInput(dy, { data: w, shape: wShape, layout }, xShape, options);
            // The Inf weight feeds input channel g*Cg + i of its group.
            const channel = Math.floor(at.o / (t.cout / groups)) * cg + at.i;
            paddedChecked += assertPaddingSkipped(dx.data, expected, channelIndexer(layout, t.c, t.h * t.w), channel, Ctor, `${label} ${tap.name}`);
          }
          if (!t.dyCropped) assert.ok(paddedChecked > 0, `${label}: no dx element misses the Inf tap, the case tests nothing`);
        });

        // dw takes the forward's path (conv2d_backward_filter dispatches like conv2d_forward). Its
        // padding is x's: a +Inf in dY at a pixel whose window is partly on the padding must reach
        // the dw of its taps on the input (+Inf) and no other (finite).
        const dwPath = pathOf(t.forward, layout).startsWith('GEMM') ? `GEMM, ${layout} im2col` : pathOf(t.forward, layout);
        it(`dw, ${dwPath}: ${label}`, function () {
          const random = rng(3000 + CASES.indexOf(t));
          const x = {
            data: positive(
              random,
              xShape.reduce((a, b) => a * b),
              Ctor,
            ),
            shape: xShape,
            layout,
          };
          const yShape = naive.conv2d(x.data, xShape, new Float64Array(wShape.reduce((a, b) => a * b)), wShape, null, layout, options).shape;
          const [oh, ow] = layout === 'NHWC' ? yShape.slice(1, 3) : yShape.slice(2, 4);
          const unusedW = new Float64Array(wShape.reduce((a, b) => a * b));
          const wChannel = layout === 'NHWC' ? (i) => i % t.cout : (i) => Math.floor(i / (cg * t.k * t.k));
          let paddedChecked = 0;
          for (const [n, channel, fromEnd] of [
            [0, 0, false],
            [t.n - 1, t.cout - 1, true],
          ]) {
            const {
              at: [oy, ox],
              mixed,
            } = paddedPixel(t, oh, ow, fromEnd);
            const dy = {
              data: positive(
                random,
                yShape.reduce((a, b) => a * b),
                Ctor,
              ),
              shape: yShape,
              layout,
            };
            dy.data[layout === 'NHWC' ? ((n * oh + oy) * ow + ox) * t.cout + channel : ((n * t.cout + channel) * oh + oy) * ow + ox] = Infinity;
            const expected = naive.conv2dBackward(dy.data, x.data, xShape, unusedW, wShape, false, layout, options).dw;
            const dw = convkit.conv2dBackwardFilter(dy, x, wShape, options);
            const where = `${label} Inf dY at ${n},${channel},${oy},${ox}`;
            paddedChecked += assertPaddingSkipped(dw.data, expected, wChannel, channel, Ctor, where, mixed);
          }
          assert.ok(paddedChecked > 0, `${label}: no tap of the Inf pixel is on the padding, the case tests nothing`);
        });
      }
});
