'use strict';
// A deliberately simple float64 reference for convolution, pooling and zero padding: direct
// loops over logical (n, c, h, w) indices, PyTorch semantics, no shared code with the library.
// It also re-derives which arguments are valid, independently of lib/shapes.ts: it throws
// `Invalid` for anything PyTorch (or the documented API) would refuse.

class Invalid extends Error {}

function check(condition, message) {
  if (!condition) throw new Invalid(message);
}

const isSize = (v, min) => Number.isInteger(v) && v >= min && v <= 2 ** 31;

/** Every entry (holes included) a positive size. */
function allSizes(shape) {
  for (let i = 0; i < shape.length; i++) if (!isSize(shape[i], 1)) return false;
  return true;
}

function pairOf(value, fallback, min, name) {
  if (value === undefined) return [fallback, fallback];
  const [a, b] = Array.isArray(value) ? value : [value, value];
  check(!Array.isArray(value) || value.length === 2, `${name}: pair of length 2`);
  check(isSize(a, min) && isSize(b, min), `${name}: integers >= ${min}`);
  return [a, b];
}

function layoutOf(options, ...tensors) {
  let layout = options.layout;
  check(layout === undefined || layout === 'NHWC' || layout === 'NCHW', 'layout');
  for (const t of tensors) {
    if (t === null || typeof t !== 'object' || t.layout === undefined) continue;
    check(t.layout === 'NHWC' || t.layout === 'NCHW', 'tensor layout');
    check(layout === undefined || layout === t.layout, 'layout conflict');
    layout = t.layout;
  }
  return layout || 'NHWC';
}

function optionsOf(options) {
  if (options === undefined || options === null) return {};
  check(typeof options === 'object' && !Array.isArray(options), 'options must be an object');
  return options;
}

function tensor4(t, name) {
  check(t !== null && typeof t === 'object', `${name} object`);
  check(t.data instanceof Float32Array || t.data instanceof Float64Array, `${name}.data float array`);
  check(Array.isArray(t.shape) && t.shape.length === 4, `${name} rank 4`);
  check(allSizes(t.shape), `${name} sizes`);
  check(t.shape.reduce((a, b) => a * b, 1) === t.data.length, `${name} length`);
  return t;
}

/** Logical accessor of a 4-D activation: get(n, c, h, w). */
function activation(layout, shape) {
  const [n, h, w, c] = layout === 'NHWC' ? shape : [shape[0], shape[2], shape[3], shape[1]];
  const index = layout === 'NHWC' ? (i, ch, y, x) => ((i * h + y) * w + x) * c + ch : (i, ch, y, x) => ((i * c + ch) * h + y) * w + x;
  return { n, h, w, c, index };
}

/** An output shape; sizes beyond what the reference computes in a moment count as refused. */
function makeShape(layout, n, c, h, w) {
  check(n * c * h * w <= 2 ** 24, 'output too large for the reference');
  return layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
}

/** Resolved convolution geometry, or throws Invalid. */
function convGeometry(layout, xShape, wShape, options) {
  const x = activation(layout, xShape);
  const [kh, kw, cg, cout] = layout === 'NHWC' ? wShape : [wShape[2], wShape[3], wShape[1], wShape[0]];
  const groups = options.groups === undefined ? 1 : options.groups;
  check(isSize(groups, 1), 'groups');
  check(x.c % groups === 0 && cout % groups === 0 && cg * groups === x.c, 'groups/channels');
  const [sh, sw] = pairOf(options.stride, 1, 1, 'stride');
  const [dh, dw] = pairOf(options.dilation, 1, 1, 'dilation');
  let pads;
  if (options.padding === 'same') {
    check(sh === 1 && sw === 1, "'same' needs stride 1");
    const th = dh * (kh - 1),
      tw = dw * (kw - 1);
    pads = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  } else if (options.padding === 'valid') {
    pads = [0, 0, 0, 0];
  } else {
    check(typeof options.padding !== 'string', 'padding string');
    const [ph, pw] = pairOf(options.padding, 0, 0, 'padding');
    pads = [ph, pw, ph, pw];
  }
  const oh = Math.floor((x.h + pads[0] + pads[2] - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((x.w + pads[1] + pads[3] - dw * (kw - 1) - 1) / sw) + 1;
  check(oh >= 1 && ow >= 1, 'kernel fits');
  const wIndex = layout === 'NHWC' ? (o, i, a, b) => ((a * kw + b) * cg + i) * cout + o : (o, i, a, b) => ((o * cg + i) * kh + a) * kw + b;
  return { x, kh, kw, cg, cout, groups, sh, sw, dh, dw, top: pads[0], left: pads[1], oh, ow, wIndex };
}

/** Calls f(yIndex, xIndex, wIndex, o) for every in-bounds product term. */
function forEachConvTerm(layout, g, f) {
  const y = activation(layout, makeShape(layout, g.x.n, g.cout, g.oh, g.ow));
  const coutPerGroup = g.cout / g.groups;
  for (let n = 0; n < g.x.n; n++)
    for (let o = 0; o < g.cout; o++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++) {
          const yi = y.index(n, o, oy, ox);
          f(yi, -1, -1, o);
          for (let i = 0; i < g.cg; i++)
            for (let a = 0; a < g.kh; a++)
              for (let b = 0; b < g.kw; b++) {
                const iy = oy * g.sh - g.top + a * g.dh;
                const ix = ox * g.sw - g.left + b * g.dw;
                if (iy < 0 || iy >= g.x.h || ix < 0 || ix >= g.x.w) continue;
                f(yi, g.x.index(n, Math.floor(o / coutPerGroup) * g.cg + i, iy, ix), g.wIndex(o, i, a, b), o);
              }
        }
}

function conv2d(xData, xShape, wData, wShape, bData, layout, options) {
  const g = convGeometry(layout, xShape, wShape, options);
  const shape = makeShape(layout, g.x.n, g.cout, g.oh, g.ow);
  const y = new Float64Array(g.x.n * g.cout * g.oh * g.ow);
  forEachConvTerm(layout, g, (yi, xi, wi, o) => {
    if (xi < 0) y[yi] += bData ? bData[o] : 0;
    else y[yi] += xData[xi] * wData[wi];
  });
  return { data: y, shape };
}

function conv2dBackward(dy, xData, xShape, wData, wShape, withBias, layout, options) {
  const g = convGeometry(layout, xShape, wShape, options);
  const dx = new Float64Array(xData.length);
  const dw = new Float64Array(wData.length);
  const db = withBias ? new Float64Array(g.cout) : null;
  forEachConvTerm(layout, g, (yi, xi, wi, o) => {
    if (xi < 0) {
      if (db) db[o] += dy[yi];
      return;
    }
    dx[xi] += dy[yi] * wData[wi];
    dw[wi] += dy[yi] * xData[xi];
  });
  return { dx, dw, db };
}

function poolGeometry(layout, xShape, options, mode) {
  check(mode === 'max' || mode === 'avg', 'mode');
  const x = activation(layout, xShape);
  check(options.kernelSize !== undefined, 'kernelSize');
  const [kh, kw] = pairOf(options.kernelSize, 1, 1, 'kernelSize');
  // stride null is PyTorch's None: the kernel size.
  const [sh, sw] = pairOf(options.stride === undefined || options.stride === null ? options.kernelSize : options.stride, 1, 1, 'stride');
  const [ph, pw] = pairOf(options.padding, 0, 0, 'padding');
  check(2 * ph <= kh && 2 * pw <= kw, 'padding at most half the kernel');
  const ceil = options.ceilMode === undefined ? false : options.ceilMode;
  const includePad = options.countIncludePad === undefined ? true : options.countIncludePad;
  check(typeof ceil === 'boolean' && typeof includePad === 'boolean', 'flags');
  const out = (size, pad, k, s) => {
    const span = size + 2 * pad - k;
    if (span < 0) return 0;
    let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (ceil && (o - 1) * s >= size + pad) o--;
    return o;
  };
  const oh = out(x.h, ph, kh, sh);
  const ow = out(x.w, pw, kw, sw);
  check(oh >= 1 && ow >= 1, 'pool kernel fits');
  return { x, kh, kw, sh, sw, ph, pw, oh, ow, includePad };
}

/** Calls f(yIndex, inputIndices, planeIndices, divisor) for every pooling window (PyTorch rules). */
function forEachWindow(layout, g, f) {
  const y = activation(layout, makeShape(layout, g.x.n, g.x.c, g.oh, g.ow));
  for (let n = 0; n < g.x.n; n++)
    for (let c = 0; c < g.x.c; c++)
      for (let oy = 0; oy < g.oh; oy++)
        for (let ox = 0; ox < g.ow; ox++) {
          const y0 = oy * g.sh - g.ph,
            x0 = ox * g.sw - g.pw;
          const yEnd = Math.min(y0 + g.kh, g.x.h + g.ph),
            xEnd = Math.min(x0 + g.kw, g.x.w + g.pw);
          const inputs = [],
            plane = [];
          for (let iy = Math.max(y0, 0); iy < Math.min(yEnd, g.x.h); iy++)
            for (let ix = Math.max(x0, 0); ix < Math.min(xEnd, g.x.w); ix++) {
              inputs.push(g.x.index(n, c, iy, ix));
              plane.push(iy * g.x.w + ix);
            }
          f(y.index(n, c, oy, ox), inputs, plane, g.includePad ? (yEnd - y0) * (xEnd - x0) : inputs.length);
        }
}

/** PyTorch max/avg pooling; for max also the per-output flat index (iy * W + ix) of the winner. */
function pool2d(xData, xShape, layout, options, mode) {
  const g = poolGeometry(layout, xShape, options, mode);
  const shape = makeShape(layout, g.x.n, g.x.c, g.oh, g.ow);
  const out = new Float64Array(g.x.n * g.x.c * g.oh * g.ow);
  const argmax = new Int32Array(out.length);
  forEachWindow(layout, g, (yi, inputs, plane, divisor) => {
    // The first maximum wins ties, a NaN always wins (the last NaN, as in PyTorch).
    let best = 0;
    for (let k = 1; k < inputs.length; k++) {
      const v = xData[inputs[k]];
      if (v > xData[inputs[best]] || Number.isNaN(v)) best = k;
    }
    let sum = 0;
    for (const i of inputs) sum += xData[i];
    out[yi] = mode === 'max' ? xData[inputs[best]] : sum / divisor;
    argmax[yi] = plane[best];
  });
  return { data: out, argmax, shape };
}

/** dx of a pool given dy; max routes each dy to the window's winner in xData. */
function pool2dBackward(dy, xData, xShape, layout, options, mode) {
  const g = poolGeometry(layout, xShape, options, mode);
  const { argmax } = pool2d(xData, xShape, layout, options, mode);
  const dx = new Float64Array(xData.length);
  forEachWindow(layout, g, (yi, inputs, plane, divisor) => {
    if (mode === 'max') dx[inputs[plane.indexOf(argmax[yi])]] += dy[yi];
    else for (const i of inputs) dx[i] += dy[yi] / divisor;
  });
  return dx;
}

function zeroPad(xData, xShape, layout, pad) {
  check(pad !== undefined, 'pad');
  const [ph, pw] = pairOf(pad, 0, 0, 'pad');
  const x = activation(layout, xShape);
  const shape = makeShape(layout, x.n, x.c, x.h + 2 * ph, x.w + 2 * pw);
  const y = activation(layout, shape);
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let n = 0; n < x.n; n++)
    for (let c = 0; c < x.c; c++)
      for (let iy = 0; iy < x.h; iy++) for (let ix = 0; ix < x.w; ix++) out[y.index(n, c, iy + ph, ix + pw)] = xData[x.index(n, c, iy, ix)];
  return { data: out, shape };
}

module.exports = { Invalid, check, allSizes, layoutOf, optionsOf, tensor4, conv2d, conv2dBackward, pool2d, pool2dBackward, zeroPad };
