'use strict';
// Shared test utilities: a seeded PRNG, tolerance checks and layout transposes.
const assert = require('assert');

const TOLERANCE = {
  float64: { rel: 1e-10, abs: 1e-12 },
  float32: { rel: 1e-4, abs: 1e-5 },
};

/** mulberry32: a small, fast, seedable generator of floats in [0, 1). */
function rng(seed) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    /** Integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(uniform() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(uniform() * items.length)],
    /** Standard normal (Box-Muller). */
    normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()),
  };
}

function product(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

/** A typed array of normal draws. */
function randomArray(random, count, Ctor = Float64Array) {
  const out = new Ctor(count);
  for (let i = 0; i < count; i++) out[i] = random.normal();
  return out;
}

/** Distinct values (a shuffled ramp, spaced 0.01 apart) so that max pooling never ties. */
function distinctArray(random, count, Ctor = Float64Array) {
  const out = new Ctor(count);
  for (let i = 0; i < count; i++) out[i] = (i - count / 2) * 0.01;
  for (let i = count - 1; i > 0; i--) {
    const j = random.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Asserts |actual - expected| <= abs + rel * |expected| everywhere (NaN only matches NaN), and
 * reports the first mismatch and how many there are.
 */
function assertAllClose(actual, expected, { rel, abs }, label = 'values') {
  assert.strictEqual(actual.length, expected.length, `${label}: length ${actual.length} != expected ${expected.length}`);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= abs + rel * Math.abs(e);
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    assert.fail(
      `${label}: ${bad} of ${expected.length} elements out of tolerance (rel ${rel}, abs ${abs}); first at ${first}: got ${actual[first]}, expected ${expected[first]}`,
    );
  }
}

function assertExactlyEqual(actual, expected, label = 'values') {
  assertAllClose(actual, expected, { rel: 0, abs: 0 }, label);
}

/** Permutes a 4-D row-major array: out axis i is input axis perm[i]. */
function permute(data, shape, perm) {
  const outShape = perm.map((axis) => shape[axis]);
  const inStrides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const strides = perm.map((axis) => inStrides[axis]);
  const out = new data.constructor(data.length);
  let k = 0;
  for (let a = 0; a < outShape[0]; a++)
    for (let b = 0; b < outShape[1]; b++)
      for (let c = 0; c < outShape[2]; c++)
        for (let d = 0; d < outShape[3]; d++) out[k++] = data[a * strides[0] + b * strides[1] + c * strides[2] + d * strides[3]];
  return { data: out, shape: outShape };
}

// NHWC <-> NCHW for activations, HWIO <-> OIHW for weights.
const toNCHW = (t) => permute(t.data, t.shape, [0, 3, 1, 2]);
const toNHWC = (t) => permute(t.data, t.shape, [0, 2, 3, 1]);
const hwioToOihw = (t) => permute(t.data, t.shape, [3, 2, 0, 1]);
const oihwToHwio = (t) => permute(t.data, t.shape, [2, 3, 1, 0]);

/** Runs fn and returns the ConvkitError it throws (failing if it does not throw). */
function thrown(fn) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return assert.fail('expected an error, but the call returned');
}

async function rejected(promise) {
  assert.ok(promise instanceof Promise, 'expected a Promise');
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return assert.fail('expected a rejection, but the promise resolved');
}

/** Sum of a[i] * b[i]: the scalar loss whose gradient with respect to an output is b. */
function dot(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** d loss / d data[i] for every i by central differences (data is perturbed in place and restored). */
function numericGradient(data, loss, eps) {
  return Float64Array.from(data, (saved, i) => {
    data[i] = saved + eps;
    const plus = loss();
    data[i] = saved - eps;
    const minus = loss();
    data[i] = saved;
    return (plus - minus) / (2 * eps);
  });
}

function assertGradient(analytic, numeric, label, tolerance) {
  assert.strictEqual(analytic.length, numeric.length, `${label}: length`);
  for (let i = 0; i < numeric.length; i++) {
    if (Math.abs(analytic[i] - numeric[i]) > tolerance.abs + tolerance.rel * Math.abs(numeric[i])) {
      assert.fail(`${label}[${i}]: backward gives ${analytic[i]}, finite differences give ${numeric[i]}`);
    }
  }
}

module.exports = {
  dot,
  numericGradient,
  assertGradient,
  TOLERANCE,
  rng,
  product,
  randomArray,
  distinctArray,
  assertAllClose,
  assertExactlyEqual,
  permute,
  toNCHW,
  toNHWC,
  hwioToOihw,
  oihwToHwio,
  thrown,
  rejected,
};
