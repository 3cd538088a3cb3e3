'use strict';
// Property-based fuzzing of every public function: random valid calls, and valid calls with one
// argument replaced by junk (wrong ranks, 0/negative/fractional/NaN/huge sizes, strings, typed
// arrays of every kind, mismatched lengths, foreign or tampered caches). Every call must either
// return what a naive float64 reference computes (naive.js, which also decides on its own which
// calls are valid) or throw a ConvkitError with a known code; the async twin must agree with
// the sync call. Seeded: CONVKIT_FUZZ_SEED reproduces a run, CONVKIT_FUZZ_RUNS sets its length.
const assert = require('assert');
const fc = require('fast-check');
const convkit = require('../../dist');
const naive = require('./naive');
const { rng } = require('../helpers');

const RUNS = Number(process.env.CONVKIT_FUZZ_RUNS || 1000);
const SEED = Number(process.env.CONVKIT_FUZZ_SEED || 5);
const CODES = new Set(['ERR_SHAPE', 'ERR_ARG', 'ERR_DTYPE', 'ERR_TOO_LARGE', 'ERR_ALLOC', 'ERR_CACHE']);
const TOLERANCE = { float32: { rel: 1e-4, abs: 1e-4 }, float64: { rel: 1e-9, abs: 1e-9 } };

// ---- values

const JUNK_NUMBERS = [0, -1, -0, 0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 31 + 1, 2 ** 32, 2 ** 53, 1e300, -(2 ** 31)];
const TYPED = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array];
const junk = fc.oneof(
  fc.constantFrom(...JUNK_NUMBERS, '3', '', 'NHWC', 'max', 'same', true, false, null, undefined, [], {}, [1, 2, 3], [[1]], () => 1, Symbol('s')),
  fc.string({ maxLength: 4 }),
  fc.double(),
  fc.integer({ min: -5, max: 40 }),
  fc.tuple(fc.constantFrom(...TYPED), fc.nat(20)).map(([Ctor, n]) => new Ctor(n)),
  fc.constant(new DataView(new ArrayBuffer(8))),
  fc.constant(new ArrayBuffer(16)),
  fc.array(fc.integer({ min: -2, max: 9 }), { maxLength: 6 }),
);

/** Values mostly N(0, 1), sometimes NaN or +-inf. */
function fill(Ctor, count, seed, specials) {
  const random = rng(seed);
  const out = new Ctor(count);
  for (let i = 0; i < count; i++) {
    const u = random.uniform();
    out[i] = specials && u < 0.03 ? [NaN, Infinity, -Infinity][i % 3] : random.normal();
  }
  return out;
}

// ---- call specs: random geometry that is usually, not always, valid

const pairArb = (lo, hi) => fc.oneof(fc.integer({ min: lo, max: hi }), fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: lo, max: hi })));
const common = {
  layout: fc.constantFrom('NHWC', 'NCHW'),
  dtype: fc.constantFrom('float32', 'float64'),
  form: fc.constantFrom('tensor', 'plain', 'plainWithLayout'),
  n: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 8 }),
  w: fc.integer({ min: 1, max: 8 }),
  seed: fc.nat(),
  specials: fc.boolean(),
  layoutInOptions: fc.boolean(),
};
const convSpec = fc.record({
  ...common,
  groups: fc.integer({ min: 1, max: 3 }),
  cinPerGroup: fc.integer({ min: 1, max: 3 }),
  coutPerGroup: fc.integer({ min: 1, max: 3 }),
  kh: fc.integer({ min: 1, max: 4 }),
  kw: fc.integer({ min: 1, max: 4 }),
  stride: fc.option(pairArb(1, 3), { nil: undefined }),
  dilation: fc.option(pairArb(1, 2), { nil: undefined }),
  padding: fc.option(fc.oneof(pairArb(0, 2), fc.constantFrom('same', 'valid')), { nil: undefined }),
  bias: fc.constantFrom('none', 'vector', 'tensor4', 'typed'),
});
const poolSpec = fc.record({
  ...common,
  c: fc.integer({ min: 1, max: 5 }),
  mode: fc.constantFrom('max', 'avg'),
  kernelSize: pairArb(1, 4),
  stride: fc.option(pairArb(1, 3), { nil: undefined }),
  padding: fc.option(pairArb(0, 2), { nil: undefined }),
  ceilMode: fc.option(fc.boolean(), { nil: undefined }),
  countIncludePad: fc.option(fc.boolean(), { nil: undefined }),
});

function makeTensor(spec, data, shape) {
  if (spec.form === 'tensor') return convkit.tensor(data, shape, { layout: spec.layout });
  if (spec.form === 'plainWithLayout') return { data, shape, layout: spec.layout };
  return { data, shape };
}

function shapeOf(layout, n, c, h, w) {
  return layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w];
}

function convArgs(spec) {
  const Ctor = spec.dtype === 'float64' ? Float64Array : Float32Array;
  const c = spec.groups * spec.cinPerGroup,
    cout = spec.groups * spec.coutPerGroup;
  const xShape = shapeOf(spec.layout, spec.n, c, spec.h, spec.w);
  const wShape = spec.layout === 'NHWC' ? [spec.kh, spec.kw, spec.cinPerGroup, cout] : [cout, spec.cinPerGroup, spec.kh, spec.kw];
  const x = makeTensor(
    spec,
    fill(
      Ctor,
      xShape.reduce((a, b) => a * b),
      spec.seed,
      spec.specials,
    ),
    xShape,
  );
  const w = makeTensor(
    spec,
    fill(
      Ctor,
      wShape.reduce((a, b) => a * b),
      spec.seed + 1,
      false,
    ),
    wShape,
  );
  const bData = fill(Ctor, cout, spec.seed + 2, false);
  const b = { none: null, vector: { data: bData, shape: [cout] }, tensor4: { data: bData, shape: [1, 1, 1, cout] }, typed: bData }[spec.bias];
  const options = { stride: spec.stride, dilation: spec.dilation, padding: spec.padding, groups: spec.groups };
  if (spec.layoutInOptions || spec.form === 'plain') options.layout = spec.layout;
  return { x, w, b, options };
}

function poolArgs(spec) {
  const Ctor = spec.dtype === 'float64' ? Float64Array : Float32Array;
  const xShape = shapeOf(spec.layout, spec.n, spec.c, spec.h, spec.w);
  const x = makeTensor(
    spec,
    fill(
      Ctor,
      xShape.reduce((a, b) => a * b),
      spec.seed,
      spec.specials,
    ),
    xShape,
  );
  const options = { kernelSize: spec.kernelSize, stride: spec.stride, padding: spec.padding, ceilMode: spec.ceilMode, countIncludePad: spec.countIncludePad };
  if (spec.layoutInOptions || spec.form === 'plain') options.layout = spec.layout;
  return { x, options };
}

// ---- mutations: replace one thing in the arguments by junk

/** Every (object, key) that a mutation may overwrite, found by walking the argument tree. */
function slots(root) {
  const found = [];
  const walk = (holder, key, depth) => {
    found.push([holder, key]);
    const value = holder[key];
    if (depth > 3 || value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return;
    for (const k of Object.keys(value)) walk(value, k, depth + 1);
  };
  for (const k of Object.keys(root)) walk(root, k, 0);
  return found;
}

/** Rebuilds plain copies along the way so that a mutation never touches a Tensor's own fields. */
function thaw(value) {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(thaw);
  const out = {};
  for (const k of Object.keys(value)) out[k] = thaw(value[k]);
  if (value instanceof convkit.Tensor) out.layout = value.layout;
  return out;
}

const mutation = fc.record({ which: fc.nat(), kind: fc.constantFrom('junk', 'lengthPlus', 'lengthMinus', 'otherDtype', 'delete'), value: junk });

const resizable = (value) => Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));

function mutate(args, m) {
  const copy = thaw(args);
  const all = slots(copy);
  const [holder, key] = all[m.which % all.length];
  const value = holder[key];
  if (m.kind === 'delete') delete holder[key];
  else if (m.kind === 'lengthPlus' && resizable(value)) holder[key] = resize(value, value.length + 1);
  else if (m.kind === 'lengthMinus' && resizable(value)) holder[key] = resize(value, Math.max(0, value.length - 1));
  else if (m.kind === 'otherDtype' && (value instanceof Float32Array || value instanceof Float64Array)) {
    holder[key] = value instanceof Float32Array ? Float64Array.from(value) : Float32Array.from(value);
  } else holder[key] = m.value;
  return copy;
}

function resize(value, length) {
  if (Array.isArray(value)) return Array.from({ length }, (_, i) => (i < value.length ? value[i] : 1));
  const out = new value.constructor(length);
  out.set(value.subarray(0, Math.min(length, value.length)));
  return out;
}

// ---- the oracle: what the reference says the call must return, or Invalid

function floatData(t, name) {
  return naive.tensor4(t, name).data;
}

function sameDType(...arrays) {
  naive.check(
    arrays.every((a) => a.constructor === arrays[0].constructor),
    'mixed dtypes',
  );
}

function biasData(b, cout) {
  if (b === null || b === undefined) return null;
  if (b instanceof Float32Array || b instanceof Float64Array) {
    naive.check(b.length === cout, 'bias length');
    return b;
  }
  naive.check(typeof b === 'object' && !ArrayBuffer.isView(b), 'bias kind');
  naive.check(b.data instanceof Float32Array || b.data instanceof Float64Array, 'bias data');
  const s = b.shape;
  naive.check(
    Array.isArray(s) && ((s.length === 1 && s[0] === cout) || (s.length === 4 && s[0] === 1 && s[1] === 1 && s[2] === 1 && s[3] === cout)),
    'bias shape',
  );
  naive.check(b.data.length === cout, 'bias length');
  return b.data;
}

function expectConv({ x, w, b, options }) {
  const opts = naive.optionsOf(options);
  const layout = naive.layoutOf(opts, x);
  const xd = floatData(x, 'x'),
    wd = floatData(w, 'w');
  const cout = layout === 'NHWC' ? w.shape[3] : w.shape[0];
  const bd = biasData(b, cout);
  sameDType(xd, wd, ...(bd ? [bd] : []));
  return naive.conv2d(xd, x.shape, wd, w.shape, bd, layout, opts);
}

function expectPool({ x, options }, mode) {
  const opts = naive.optionsOf(options);
  const layout = naive.layoutOf(opts, x);
  return naive.pool2d(floatData(x, 'x'), x.shape, layout, opts, mode);
}

// ---- running a call both ways and checking the outcome

function outcome(fn) {
  try {
    return { value: fn() };
  } catch (error) {
    return { error };
  }
}

async function asyncOutcome(fn) {
  try {
    return { value: await fn() };
  } catch (error) {
    return { error };
  }
}

function assertCoded(error, label) {
  if (!(error instanceof convkit.ConvkitError) || !CODES.has(error.code)) {
    assert.fail(`${label}: threw ${error && error.code} ${error && error.stack}`);
  }
}

function assertClose(actual, expected, dtype, label) {
  assert.strictEqual(actual.length, expected.length, `${label}: length`);
  const { rel, abs } = TOLERANCE[dtype];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i],
      e = expected[i];
    const ok = Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= abs + rel * Math.abs(e);
    if (!ok) assert.fail(`${label}: element ${i} is ${a}, the reference says ${e}`);
  }
}

function assertSameResult(a, b, label) {
  if (a instanceof convkit.Tensor) {
    assert.deepStrictEqual(a.shape, b.shape, `${label}: shape`);
    assert.ok(a.data.constructor === b.data.constructor, `${label}: dtype`);
    assert.ok(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer)), `${label}: async data differs from sync`);
  } else if (a && typeof a === 'object') {
    for (const key of Object.keys(a)) if (key !== 'cache') assertSameResult(a[key], b[key], `${label}.${key}`);
  } else assert.strictEqual(a, b, label);
}

/**
 * Runs `call` through the sync and async API and compares with `expect` (the reference value,
 * or Invalid): valid calls must match it, invalid ones must throw a coded error.
 */
async function check(label, call, expect, compare) {
  const sync = outcome(() => call(convkit));
  const viaAsync = await asyncOutcome(() => call(convkit.async));
  const reference = outcome(expect);
  if (reference.error && !(reference.error instanceof naive.Invalid)) throw reference.error;
  if (sync.error) {
    assertCoded(sync.error, `${label} (sync)`);
    if (!reference.error) assert.fail(`${label}: refused a call the reference accepts: ${sync.error.message}`);
    assert.ok(viaAsync.error, `${label}: sync threw ${sync.error.code} but async resolved`);
    assert.strictEqual(viaAsync.error.code, sync.error.code, `${label}: async code`);
    return;
  }
  if (reference.error) assert.fail(`${label}: accepted a call the reference refuses (${reference.error.message})`);
  if (viaAsync.error) assert.fail(`${label}: sync returned but async threw ${viaAsync.error.stack}`);
  compare(sync.value, reference.value);
  assertSameResult(sync.value, viaAsync.value, label);
}

const dtypeOfData = (t) => (t.data instanceof Float64Array ? 'float64' : 'float32');
const fcOptions = (runs) => ({ seed: SEED, numRuns: runs, endOnFailure: true });

describe('fuzz: random calls return the reference result or a coded error', function () {
  this.timeout(120000);

  it('conv2d', async function () {
    await fc.assert(
      fc.asyncProperty(convSpec, fc.option(mutation, { freq: 2 }), async (spec, m) => {
        const args = m ? mutate(convArgs(spec), m) : convArgs(spec);
        await check(
          'conv2d',
          (api) => api.conv2d(args.x, args.w, args.b, args.options),
          () => expectConv(args),
          (y, ref) => {
            assertClose(y.data, ref.data, dtypeOfData(y), 'conv2d');
            assert.deepStrictEqual(y.shape, ref.shape);
          },
        );
      }),
      fcOptions(RUNS),
    );
  });

  it('conv2dBackwardInput and conv2dBackwardFilter', async function () {
    await fc.assert(
      fc.asyncProperty(convSpec, fc.option(mutation, { freq: 2 }), fc.boolean(), async (spec, m, filter) => {
        const base = convArgs(spec);
        const forward = outcome(() => expectConv(base));
        if (forward.error) return; // no dOut shape to start from
        const dOutShape = forward.value.shape;
        const dOut = makeTensor(spec, fill(base.x.data.constructor, forward.value.data.length, spec.seed + 3, false), dOutShape);
        const args = { dOut, w: base.w, x: base.x, xShape: base.x.shape.slice(), wShape: base.w.shape.slice(), options: base.options };
        const called = m ? mutate(args, m) : args;
        await check(
          filter ? 'conv2dBackwardFilter' : 'conv2dBackwardInput',
          (api) =>
            filter
              ? api.conv2dBackwardFilter(called.dOut, called.x, called.wShape, called.options)
              : api.conv2dBackwardInput(called.dOut, called.w, called.xShape, called.options),
          () => expectBackwardPart(called, filter),
          (result, ref) => assertClose(result.data, ref, dtypeOfData(result), filter ? 'dw' : 'dx'),
        );
      }),
      fcOptions(Math.ceil(RUNS / 2)),
    );
  });

  it('maxPool2d, avgPool2d and pool2dForward', async function () {
    await fc.assert(
      fc.asyncProperty(poolSpec, fc.option(mutation, { freq: 2 }), fc.constantFrom('maxPool2d', 'avgPool2d', 'pool2dForward'), async (spec, m, name) => {
        const base = poolArgs(spec);
        if (name === 'pool2dForward') base.options.mode = spec.mode;
        const args = m ? mutate(base, m) : base;
        const mode = name === 'maxPool2d' ? 'max' : name === 'avgPool2d' ? 'avg' : args.options && args.options.mode;
        await check(
          name,
          (api) => api[name](args.x, args.options),
          () => expectPool(args, mode),
          (result, ref) => {
            const y = result.output || result;
            assertClose(y.data, ref.data, dtypeOfData(y), name);
            assert.deepStrictEqual(y.shape, ref.shape);
            if (result.cache && mode === 'max') assert.deepStrictEqual(Array.from(result.cache.argmax), Array.from(ref.argmax), 'argmax');
          },
        );
      }),
      fcOptions(RUNS),
    );
  });

  it('zeroPad', async function () {
    await fc.assert(
      fc.asyncProperty(poolSpec, fc.oneof(pairArb(0, 3), junk), fc.option(mutation, { freq: 3 }), async (spec, pad, m) => {
        const base = { ...poolArgs(spec), pad };
        base.options = { layout: base.options.layout };
        const args = m ? mutate(base, m) : base;
        await check(
          'zeroPad',
          (api) => api.zeroPad(args.x, args.pad, args.options),
          () => {
            const opts = naive.optionsOf(args.options);
            return naive.zeroPad(floatData(args.x, 'x'), args.x.shape, naive.layoutOf(opts, args.x), args.pad);
          },
          (y, ref) => {
            assertClose(y.data, ref.data, dtypeOfData(y), 'zeroPad');
            assert.deepStrictEqual(y.shape, ref.shape);
          },
        );
      }),
      fcOptions(Math.ceil(RUNS / 2)),
    );
  });

  // Backward passes get their cache from a forward, then the cache or its tensors are tampered
  // with: values changed (allowed: backward reads them then), buffers detached, caches swapped.
  const CONV_TAMPER = ['none', 'none', 'changeValues', 'detachX', 'detachW', 'poolCache', 'copiedCache', 'junkCache', 'junkDOut'];
  it('conv2dForward then conv2dBackward, with tampered caches', async function () {
    await fc.assert(
      fc.asyncProperty(convSpec, fc.constantFrom(...CONV_TAMPER), junk, async (spec, tamper, junkValue) => {
        // Each API (and the reference) gets its own forward, tampered the same way.
        const prepare = (api) => {
          const args = convArgs(spec);
          const forward = outcome(() => convkit.conv2dForward(args.x, args.w, args.b, args.options));
          if (forward.error) return { args, error: forward.error };
          let { cache } = forward.value;
          const dOut = makeTensor(spec, fill(args.x.data.constructor, forward.value.output.data.length, spec.seed + 3, false), forward.value.output.shape);
          if (tamper === 'changeValues') args.x.data.fill(0.25), args.w.data.reverse();
          if (tamper === 'detachX') structuredClone(args.x.data.buffer, { transfer: [args.x.data.buffer] });
          if (tamper === 'detachW') structuredClone(args.w.data.buffer, { transfer: [args.w.data.buffer] });
          if (tamper === 'poolCache') cache = convkit.pool2dForward(convkit.tensor(new Float32Array(4), [1, 2, 2, 1]), { kernelSize: 2, mode: 'max' }).cache;
          if (tamper === 'copiedCache') cache = { ...cache };
          if (tamper === 'junkCache') cache = junkValue;
          return { args, cache, dOut: tamper === 'junkDOut' ? junkValue : dOut, api };
        };
        const run = (api) => {
          const p = prepare(api);
          if (p.error) throw p.error;
          return api.conv2dBackward(p.dOut, p.cache);
        };
        await check(
          'conv2dBackward',
          run,
          () => {
            const p = prepare(convkit);
            if (p.error) throw new naive.Invalid('forward refused');
            naive.check(tamper === 'none' || tamper === 'changeValues', 'tampered cache');
            const opts = naive.optionsOf(p.args.options);
            const layout = naive.layoutOf(opts, p.args.x);
            return naive.conv2dBackward(p.dOut.data, p.args.x.data, p.args.x.shape, p.args.w.data, p.args.w.shape, p.args.b !== null, layout, opts);
          },
          (grads, ref) => {
            const dtype = dtypeOfData(grads.dx);
            assertClose(grads.dx.data, ref.dx, dtype, 'dx');
            assertClose(grads.dw.data, ref.dw, dtype, 'dw');
            if (ref.db) assertClose(grads.db.data, ref.db, dtype, 'db');
            else assert.strictEqual(grads.db, null);
          },
        );
      }),
      fcOptions(Math.ceil(RUNS / 2)),
    );
  });

  const POOL_TAMPER = ['none', 'none', 'changeInput', 'detachArgmax', 'corruptArgmax', 'convCache', 'copiedCache', 'junkCache', 'junkDOut'];
  it('pool2dForward then pool2dBackward, with tampered caches', async function () {
    await fc.assert(
      fc.asyncProperty(poolSpec, fc.constantFrom(...POOL_TAMPER), junk, async (spec, tamper, junkValue) => {
        const prepare = () => {
          const args = poolArgs(spec);
          args.options.mode = spec.mode;
          const forward = outcome(() => convkit.pool2dForward(args.x, args.options));
          if (forward.error) return { args, error: forward.error };
          let { cache } = forward.value;
          const original = Float64Array.from(args.x.data);
          const dOut = makeTensor(spec, fill(args.x.data.constructor, forward.value.output.data.length, spec.seed + 3, false), forward.value.output.shape);
          if (tamper === 'changeInput') args.x.data.fill(7);
          if (tamper === 'detachArgmax' && cache.argmax) structuredClone(cache.argmax.buffer, { transfer: [cache.argmax.buffer] });
          if (tamper === 'corruptArgmax' && cache.argmax) cache.argmax[cache.argmax.length - 1] = junkValue === 0 ? -1 : 1 << 30;
          if (tamper === 'convCache')
            cache = convkit.conv2dForward(convkit.tensor(new Float32Array(4), [1, 2, 2, 1]), convkit.tensor(new Float32Array(1), [1, 1, 1, 1])).cache;
          if (tamper === 'copiedCache') cache = { ...cache };
          if (tamper === 'junkCache') cache = junkValue;
          return { args, original, cache, dOut: tamper === 'junkDOut' ? junkValue : dOut };
        };
        const run = (api) => {
          const p = prepare();
          if (p.error) throw p.error;
          return api.pool2dBackward(p.dOut, p.cache);
        };
        await check(
          'pool2dBackward',
          run,
          () => {
            const p = prepare();
            if (p.error) throw new naive.Invalid('forward refused');
            const harmless = tamper === 'none' || tamper === 'changeInput' || (spec.mode === 'avg' && /Argmax$/.test(tamper));
            naive.check(harmless, 'tampered cache');
            const opts = naive.optionsOf(p.args.options);
            // The argmax was taken at forward time: changing the input afterwards does not matter.
            return naive.pool2dBackward(p.dOut.data, p.original, p.args.x.shape, naive.layoutOf(opts, p.args.x), opts, spec.mode);
          },
          (dx, ref) => assertClose(dx.data, ref, dtypeOfData(dx), 'pool dx'),
        );
      }),
      fcOptions(Math.ceil(RUNS / 2)),
    );
  });

  it('tensor() builds what it was given or throws a coded error', function () {
    const source = fc.oneof(
      junk,
      fc.array(fc.oneof(fc.double(), junk), { maxLength: 8 }),
      fc.array(fc.array(fc.double(), { minLength: 2, maxLength: 2 }), { maxLength: 4 }),
      fc.tuple(fc.constantFrom(...TYPED), fc.nat(12)).map(([Ctor, n]) => new Ctor(n)),
    );
    const options = fc.oneof(
      junk,
      fc.record(
        { layout: fc.oneof(fc.constantFrom('NHWC', 'NCHW'), junk), dtype: fc.oneof(fc.constantFrom('float32', 'float64'), junk) },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(source, fc.option(fc.oneof(junk, fc.array(fc.integer({ min: -1, max: 6 }), { maxLength: 5 }))), fc.option(options), (data, shape, opts) => {
        const result = outcome(() => convkit.tensor(data, shape === null ? undefined : shape, opts === null ? undefined : opts));
        if (result.error) return assertCoded(result.error, 'tensor');
        const t = result.value;
        assert.ok(t.data instanceof Float32Array || t.data instanceof Float64Array);
        assert.strictEqual(
          t.shape.reduce((a, b) => a * b, 1),
          t.data.length,
        );
        if (ArrayBuffer.isView(data) && data.length === t.data.length) {
          for (let i = 0; i < data.length; i++) assert.ok(Object.is(t.data[i], t.data.constructor.of(Number(data[i]))[0]));
        }
      }),
      fcOptions(RUNS),
    );
  });

  it('setNumThreads takes 1..256 or throws ERR_ARG', function () {
    const original = convkit.getNumThreads();
    try {
      fc.assert(
        fc.property(fc.oneof(junk, fc.integer({ min: 1, max: 4 })), (n) => {
          const before = convkit.getNumThreads();
          const result = outcome(() => convkit.setNumThreads(n));
          if (result.error) {
            assertCoded(result.error, 'setNumThreads');
            assert.strictEqual(convkit.getNumThreads(), before);
          } else assert.strictEqual(convkit.getNumThreads(), n);
        }),
        fcOptions(Math.ceil(RUNS / 4)),
      );
    } finally {
      convkit.setNumThreads(original);
    }
  });
});

function sizes4(shape, name) {
  naive.check(Array.isArray(shape) && shape.length === 4 && naive.allSizes(shape), `${name} sizes`);
  return shape;
}

/** dx (given w and xShape) or dw (given x and wShape) by the reference. */
function expectBackwardPart(args, filter) {
  const opts = naive.optionsOf(args.options);
  const layout = naive.layoutOf(opts, ...(filter ? [args.x, args.dOut] : [args.dOut]));
  const dy = floatData(args.dOut, 'dOut');
  let xData, xShape, wData, wShape;
  if (filter) {
    xData = floatData(args.x, 'x');
    xShape = args.x.shape;
    wShape = sizes4(args.wShape, 'wShape');
    naive.check(wShape.reduce((a, b) => a * b) <= 1e6, 'wShape size');
    wData = new Float64Array(wShape.reduce((a, b) => a * b));
  } else {
    wData = floatData(args.w, 'w');
    wShape = args.w.shape;
    xShape = sizes4(args.xShape, 'xShape');
    naive.check(xShape.reduce((a, b) => a * b) <= 1e6, 'xShape size');
    xData = new Float64Array(xShape.reduce((a, b) => a * b));
  }
  sameDType(dy, filter ? xData : wData);
  const y = naive.conv2d(xData, xShape, wData, wShape, null, layout, opts);
  naive.check(
    y.shape.every((s, i) => s === args.dOut.shape[i]),
    'dOut shape',
  );
  const grads = naive.conv2dBackward(dy, xData, xShape, wData, wShape, false, layout, opts);
  return filter ? grads.dw : grads.dx;
}
