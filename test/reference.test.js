'use strict';
// Every reference case (PyTorch float64 results) through the sync and the async API.
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const convkit = require('../dist');
const { poisonNewOutputs } = require('../dist/alloc');
const { TOLERANCE, assertAllClose, assertExactlyEqual } = require('./helpers');

// Copied from the project's shared reference data (PyTorch 1.13, float64; its README gives the
// format), so that a plain clone tests on its own.
const REFERENCE_DIR = process.env.CONVKIT_REFERENCE_DIR || path.join(__dirname, 'fixtures', 'reference');
const FILES = ['seed-cases.json', 'torch-cases.json'];

function loadCases(file) {
  return JSON.parse(fs.readFileSync(path.join(REFERENCE_DIR, file), 'utf8')).cases;
}

function arrayType(dtype) {
  return dtype === 'float64' ? Float64Array : Float32Array;
}

/** A case tensor as a convkit Tensor; float32 values are exact float32s (see the README). */
function input(testCase, name) {
  const value = testCase[name];
  if (value === null || value === undefined) return null;
  return convkit.tensor(arrayType(testCase.dtype).from(value.data), value.shape, { layout: testCase.layout });
}

function expectClose(actual, expected, testCase, label, exact = false) {
  assert.ok(actual instanceof convkit.Tensor, `${label} should be a Tensor`);
  assert.deepStrictEqual(Array.from(actual.shape), expected.shape, `${label} shape`);
  assert.strictEqual(actual.dtype, testCase.dtype, `${label} dtype`);
  assert.strictEqual(actual.layout, testCase.layout, `${label} layout`);
  // float32 expectations are written as the shortest decimals of float32 values: read them back as such.
  if (exact) assertExactlyEqual(actual.data, arrayType(testCase.dtype).from(expected.data), label);
  else assertAllClose(actual.data, expected.data, TOLERANCE[testCase.dtype], label);
}

function convOptions(testCase) {
  const { stride, padding, dilation, groups } = testCase.params;
  return { layout: testCase.layout, stride, padding, dilation, groups };
}

function poolOptions(testCase) {
  const p = testCase.params;
  const options = { layout: testCase.layout, kernelSize: p.kernel, stride: p.stride, padding: p.padding, ceilMode: p.ceil_mode };
  if (p.count_include_pad !== undefined) options.countIncludePad = p.count_include_pad;
  return options;
}

/** Runs one case through `api` (convkit or convkit.async) and returns the tensors it produced, by name. */
async function runCase(api, testCase) {
  const x = input(testCase, 'x');
  const results = { x, dout: input(testCase, 'dout') };
  switch (testCase.op) {
    case 'zero_pad':
      results.out = await api.zeroPad(x, testCase.params.pad, { layout: testCase.layout });
      break;
    case 'conv2d': {
      const options = convOptions(testCase);
      results.out = await api.conv2d(x, input(testCase, 'w'), input(testCase, 'b'), options);
      const forward = await api.conv2dForward(x, input(testCase, 'w'), input(testCase, 'b'), options);
      expectClose(forward.output, testCase.out, testCase, 'conv2dForward output');
      // Weights packed ahead give the bits of packing inside the call.
      const packed = convkit.packConv2dWeights(input(testCase, 'w'), { layout: options.layout, groups: options.groups });
      const fromPacked = await api.conv2d(x, packed, input(testCase, 'b'), options);
      assertExactlyEqual(fromPacked.data, results.out.data, 'conv2d with packed weights');
      break;
    }
    case 'conv2d_backward': {
      const options = convOptions(testCase);
      const w = input(testCase, 'w');
      const { cache } = await api.conv2dForward(x, w, input(testCase, 'b'), options);
      Object.assign(results, await api.conv2dBackward(results.dout, cache));
      // The standalone gradients agree with the cached backward.
      const dx = await api.conv2dBackwardInput(results.dout, w, x.shape, options);
      const dw = await api.conv2dBackwardFilter(results.dout, x, w.shape, options);
      expectClose(dx, testCase.dx, testCase, 'conv2dBackwardInput');
      expectClose(dw, testCase.dw, testCase, 'conv2dBackwardFilter');
      break;
    }
    case 'pool2d': {
      const options = poolOptions(testCase);
      const pool = testCase.params.mode === 'max' ? api.maxPool2d : api.avgPool2d;
      results.out = await pool(x, options);
      const forward = await api.pool2dForward(x, { ...options, mode: testCase.params.mode });
      expectClose(forward.output, testCase.out, testCase, 'pool2dForward output', testCase.params.mode === 'max');
      break;
    }
    case 'pool2d_backward': {
      const { cache } = await api.pool2dForward(x, { ...poolOptions(testCase), mode: testCase.params.mode });
      results.dx = await api.pool2dBackward(results.dout, cache);
      break;
    }
    default:
      assert.fail(`unknown op ${testCase.op}`);
  }
  return results;
}

function checkExpected(testCase, results) {
  const exactForward = testCase.op === 'pool2d' && testCase.params.mode === 'max';
  for (const name of ['out', 'dx', 'dw', 'db']) {
    if (!(name in testCase)) continue;
    if (testCase[name] === null) assert.strictEqual(results[name], null, `${name} should be null`);
    else expectClose(results[name], testCase[name], testCase, name, exactForward && name === 'out');
  }
}

// ---- The seed cases' printed values: expressions like mean(dx), sum(dw), shape(out), out[3,2,1], dx[1,2,2:5,2:5].

/** The value of `what` over the results, or undefined when the expression is not one of the simple forms. */
function evaluatePrinted(what, results) {
  const expression = what.includes(' = ') ? what.split(' = ').pop() : what;
  let match = /^(mean|sum|shape)\((\w+)\)(?:\/(\d+))?$/.exec(expression);
  if (match) {
    const tensor = results[match[2]];
    if (!tensor) return undefined;
    if (match[1] === 'shape') return Array.from(tensor.shape);
    let total = 0;
    for (const v of tensor.data) total += v;
    const value = match[1] === 'mean' ? total / tensor.size : total;
    return match[3] ? value / Number(match[3]) : value;
  }
  match = /^(\w+)(?:\[([\d:, ]+)\])?$/.exec(expression);
  if (!match || !results[match[1]]) return undefined;
  const tensor = results[match[1]];
  const ranges = (match[2] ? match[2].split(',') : []).map((part) => part.trim());
  return slice(tensor.toArray(), ranges);
}

function slice(nested, ranges) {
  if (ranges.length === 0) return nested;
  const [range, ...rest] = ranges;
  if (!range.includes(':')) return slice(nested[Number(range)], rest);
  const [start, stop] = range.split(':').map(Number);
  return nested.slice(start, stop).map((item) => slice(item, rest));
}

function parseTolerance(text) {
  if (text === 'exact') return { rel: 0, abs: 0 };
  const match = /^(rel|abs) ([\d.e+-]+)/.exec(text);
  assert.ok(match, `unknown tolerance ${text}`);
  return match[1] === 'rel' ? { rel: Number(match[2]), abs: 0 } : { rel: 0, abs: Number(match[2]) };
}

function checkPrinted(testCase, results) {
  for (const entry of testCase.printed || []) {
    const value = evaluatePrinted(entry.what, results);
    // Skipping what the parser does not know would pass a case unchecked.
    assert.notStrictEqual(value, undefined, `printed expression "${entry.what}" is not one the test can evaluate`);
    const printed = [entry.printed].flat(Infinity);
    const ours = [value].flat(Infinity);
    const given = parseTolerance(entry.tolerance);
    // The print carries its own rounding; ours may differ from PyTorch's by the README's tolerance.
    const tolerance = entry.tolerance === 'exact' ? given : { rel: Math.max(given.rel, TOLERANCE[testCase.dtype].rel), abs: given.abs };
    assertAllClose(ours, printed, tolerance, `printed ${entry.what}`);
  }
}

for (const file of FILES) {
  const cases = loadCases(file);
  describe(`reference cases: ${file}`, function () {
    // An empty or truncated file would otherwise pass with nothing checked.
    it('holds cases', () => assert.ok(cases.length > 0, `${file} holds no cases`));
    for (const [apiName, api, poisoned] of [
      ['sync', convkit, false],
      ['async', convkit.async, false],
      // Outputs are not zeroed before the kernels run: they must write every element.
      ['sync, outputs allocated full of NaN', convkit, true],
    ]) {
      describe(apiName, function () {
        before(() => poisonNewOutputs(poisoned));
        after(() => poisonNewOutputs(false));
        for (const testCase of cases) {
          it(testCase.name, async function () {
            const results = await runCase(api, testCase);
            checkExpected(testCase, results);
            checkPrinted(testCase, results);
          });
        }
      });
    }
  });
}
