'use strict';
// convkit.nn: initialisation, layouts, train/eval, parameter files, errors, and training.
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const convkit = require('../dist');
const { rng, randomArray, assertAllClose, assertExactlyEqual, toNCHW, toNHWC, oihwToHwio, thrown } = require('./helpers');

const { nn, optim } = convkit;
const FLOAT64_CLOSE = { rel: 1e-10, abs: 1e-12 };

function smallModel(layout, options) {
  return new nn.Sequential(
    new nn.Conv2d(2, 3, 3, { ...options, layout, padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2, { layout }),
    new nn.Conv2d(3, 4, 2, { ...options, layout }),
    new nn.ReLU(),
    new nn.AvgPool2d(1, { layout }),
    new nn.Flatten(),
    new nn.Linear(4 * 2 * 2, 5, options),
  );
}

/** Permutes the first Linear's input features from NCHW's (c, h, w) order to NHWC's (h, w, c). */
function chwToHwcColumns(weight, c, h, w) {
  const [out, features] = weight.shape;
  const result = new weight.data.constructor(weight.data.length);
  for (let o = 0; o < out; o++)
    for (let ci = 0; ci < c; ci++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) result[o * features + (y * w + x) * c + ci] = weight.data[o * features + (ci * h + y) * w + x];
  return result;
}

function withTemporaryFile(body) {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'convkit-nn-'));
  try {
    return body(path.join(directory, 'model.params'));
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

describe('nn', () => {
  describe('Generator and initialisation', () => {
    it('repeats its sequence for a seed and differs across seeds', () => {
      const draw = (seed) =>
        Array.from(
          { length: 8 },
          (
            (g) => () =>
              g.nextUint32()
          )(new nn.Generator(seed)),
        );
      assert.deepStrictEqual(draw(7), draw(7));
      assert.notDeepStrictEqual(draw(7), draw(8));
      assert.strictEqual(thrown(() => new nn.Generator(-1)).code, 'ERR_ARG');
    });

    it('draws uniforms in [low, high) with the right mean', () => {
      const generator = new nn.Generator(3);
      let sum = 0;
      for (let i = 0; i < 20000; i++) {
        const u = generator.uniform(-2, 3);
        assert.ok(u >= -2 && u < 3);
        sum += u;
      }
      assert.ok(Math.abs(sum / 20000 - 0.5) < 0.05, `mean ${sum / 20000}`);
    });

    it('initialises like PyTorch: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weights and biases', () => {
      const conv = new nn.Conv2d(6, 16, 5, { generator: new nn.Generator(1) });
      const linear = new nn.Linear(400, 120, { generator: new nn.Generator(1) });
      for (const [parameter, fanIn] of [
        [conv.weight, 150],
        [conv.bias, 150],
        [linear.weight, 400],
        [linear.bias, 400],
      ]) {
        const bound = 1 / Math.sqrt(fanIn);
        const values = Array.from(parameter.data);
        assert.ok(
          values.every((v) => Math.abs(v) <= bound),
          'within the bound',
        );
        assert.ok(Math.max(...values.map(Math.abs)) > 0.9 * bound, 'spread over the range');
      }
    });

    it('gives the same filters in both layouts for a seed (HWIO is the transpose of OIHW)', () => {
      const nchw = new nn.Conv2d(3, 4, [2, 3], { layout: 'NCHW', generator: new nn.Generator(9) });
      const nhwc = new nn.Conv2d(3, 4, [2, 3], { layout: 'NHWC', generator: new nn.Generator(9) });
      assert.deepStrictEqual(Array.from(nhwc.weight.shape), [2, 3, 3, 4]);
      assertExactlyEqual(nhwc.weight.data, oihwToHwio(nchw.weight).data, 'weights');
      assertExactlyEqual(nhwc.bias.data, nchw.bias.data, 'bias');
    });

    it('draws from the shared generator that manualSeed restarts', () => {
      nn.manualSeed(42);
      const first = new nn.Linear(3, 2).weight.data;
      nn.manualSeed(42);
      assertExactlyEqual(new nn.Linear(3, 2).weight.data, first);
    });
  });

  it('computes the same function in both layouts (inputs and weights transposed)', () => {
    const random = rng(31);
    const options = { dtype: 'float64' };
    const nchw = smallModel('NCHW', { ...options, generator: new nn.Generator(4) });
    const nhwc = smallModel('NHWC', { ...options, generator: new nn.Generator(4) });
    // Same seed: same convolution filters; the Linear after Flatten sees (h, w, c) instead of (c, h, w).
    const [linearNchw, linearNhwc] = [nchw.modules[7], nhwc.modules[7]];
    linearNhwc.weight.data.set(chwToHwcColumns(linearNchw.weight, 4, 2, 2));

    const x = { data: randomArray(random, 2 * 2 * 7 * 7), shape: [2, 2, 7, 7] };
    const yNchw = nchw.forward(convkit.tensor(x.data, x.shape, { layout: 'NCHW' }));
    const yNhwc = nhwc.forward(convkit.tensor(toNHWC(x).data, [2, 7, 7, 2], { layout: 'NHWC' }));
    assertAllClose(yNhwc.data, yNchw.data, FLOAT64_CLOSE, 'outputs');

    const g = convkit.tensor(randomArray(random, yNchw.size), yNchw.shape, { dtype: 'float64' });
    const dxNchw = nchw.backward(g);
    const dxNhwc = nhwc.backward(g);
    assertAllClose(toNCHW(dxNhwc).data, dxNchw.data, FLOAT64_CLOSE, 'dx');
    assertAllClose(nhwc.modules[0].weight.grad.data, oihwToHwio(nchw.modules[0].weight.grad).data, FLOAT64_CLOSE, 'conv dw');
    assertAllClose(linearNhwc.weight.grad.data, chwToHwcColumns(linearNchw.weight.grad, 4, 2, 2), FLOAT64_CLOSE, 'linear dw');
    assertAllClose(linearNhwc.bias.grad.data, linearNchw.bias.grad.data, FLOAT64_CLOSE, 'linear db');
  });

  it('keeps caches only in training mode, and backward consumes them', () => {
    const model = smallModel('NHWC', { generator: new nn.Generator(5) });
    const x = convkit.tensor(new Float32Array(2 * 7 * 7 * 2).fill(0.5), [2, 7, 7, 2]);
    const y = model.eval().forward(x);
    assert.strictEqual(
      model.modules.every((m) => m.training === false),
      true,
    );
    assert.strictEqual(thrown(() => model.backward(y)).code, 'ERR_CACHE');
    model.train();
    const trained = model.forward(x);
    assertExactlyEqual(trained.data, y.data, 'train and eval forwards agree');
    model.backward(trained);
    assert.match(thrown(() => model.backward(trained)).message, /Linear\.backward: no forward pass to differentiate/);
  });

  it('ReLU in place gives the plain ReLU results, written over x and dOut', () => {
    const random = rng(32);
    const x = convkit.tensor(randomArray(random, 40, Float32Array), [2, 4, 5]);
    const g = convkit.tensor(randomArray(random, 40, Float32Array), [2, 4, 5]);
    const plain = new nn.ReLU();
    const expectedY = plain.forward(x);
    const expectedDx = plain.backward(g);
    const inplace = new nn.ReLU({ inplace: true });
    const y = inplace.forward({ data: x.data.slice(), shape: x.shape });
    const dx = inplace.backward({ data: g.data.slice(), shape: g.shape });
    assertExactlyEqual(y.data, expectedY.data, 'y');
    assertExactlyEqual(dx.data, expectedDx.data, 'dx');
    const overwritten = x.data.slice();
    assert.strictEqual(new nn.ReLU({ inplace: true }).forward({ data: overwritten, shape: x.shape }).data, overwritten);
  });

  it('ReLU keeps NaN, maps -0 to 0, and passes no gradient where the output is not positive (PyTorch)', () => {
    for (const Type of [Float32Array, Float64Array]) {
      const relu = new nn.ReLU();
      const y = relu.forward(convkit.tensor(Type.from([-1, 0, -0, 2.5, NaN, -Infinity, Infinity]), [7]));
      assert.deepStrictEqual(Array.from(y.data), [0, 0, 0, 2.5, NaN, 0, Infinity], `${Type.name} y`);
      assert.ok(!Object.is(y.data[2], -0), 'relu(-0) is +0');
      const dx = relu.backward(convkit.tensor(Type.from([NaN, 1, 2, 3, 4, Infinity, 5]), [7]));
      assert.deepStrictEqual(Array.from(dx.data), [0, 0, 0, 3, 0, 0, 5], `${Type.name} dx`);
    }
  });

  for (const layout of ['NHWC', 'NCHW']) {
    it(`backwardParameters gives backward's parameter gradients without the input gradient (${layout})`, () => {
      const build = () => {
        nn.manualSeed(5);
        return smallModel(layout, { dtype: 'float64' }).train();
      };
      const random = rng(33);
      const shape = layout === 'NCHW' ? [2, 2, 6, 6] : [2, 6, 6, 2];
      const x = convkit.tensor(randomArray(random, 144, Float64Array), shape, { layout });
      const g = convkit.tensor(randomArray(random, 10, Float64Array), [2, 5]);
      const full = build();
      full.forward(x);
      assert.ok(full.backward(g) instanceof convkit.Tensor);
      const partial = build();
      partial.forward(x);
      assert.strictEqual(partial.backwardParameters(g), undefined);
      const fullParameters = full.parameters();
      partial.parameters().forEach((parameter, i) => assertExactlyEqual(parameter.grad.data, fullParameters[i].grad.data, `parameter ${i}`));
    });
  }

  it('refuses a Sequential mixing layouts, and inputs of the wrong layout', () => {
    const error = thrown(() => new nn.Sequential(new nn.Conv2d(1, 2, 3, { layout: 'NCHW' }), new nn.MaxPool2d(2)));
    assert.strictEqual(error.code, 'ERR_ARG');
    assert.match(error.message, /share one layout/);
    const conv = new nn.Conv2d(1, 2, 3, { layout: 'NCHW' });
    assert.strictEqual(thrown(() => conv.forward(convkit.tensor(new Float32Array(25), [1, 5, 5, 1], { layout: 'NHWC' }))).code, 'ERR_ARG');
    assert.strictEqual(thrown(() => new nn.Conv2d(4, 6, 3, { groups: 4 })).code, 'ERR_ARG');
    assert.strictEqual(thrown(() => new nn.Linear(0, 2)).code, 'ERR_ARG');
    assert.strictEqual(thrown(() => new nn.CrossEntropyLoss().forward(convkit.tensor([[1, 2]]), [2])).code, 'ERR_ARG');
  });

  describe('parameter files', () => {
    it('round-trip bit for bit, NaN payloads and -0 included', () => {
      withTemporaryFile((file) => {
        for (const dtype of ['float32', 'float64']) {
          const source = smallModel('NCHW', { dtype, generator: new nn.Generator(6) });
          source.modules[0].weight.data[0] = -0;
          const bits = new Uint8Array(source.modules[0].bias.data.buffer);
          bits.fill(0xff, 0, source.modules[0].bias.data.BYTES_PER_ELEMENT); // a NaN with a full payload
          nn.saveParameters(source, file);
          const target = smallModel('NCHW', { dtype, generator: new nn.Generator(7) });
          nn.loadParameters(target, file);
          const named = target.namedParameters();
          source.namedParameters().forEach(([name, parameter], index) => {
            const loaded = named[index][1];
            assert.deepStrictEqual(
              Buffer.from(loaded.data.buffer, loaded.data.byteOffset, loaded.data.byteLength),
              Buffer.from(parameter.data.buffer, parameter.data.byteOffset, parameter.data.byteLength),
              `${dtype} ${name}`,
            );
          });
        }
      });
    });

    it('start with the documented header', () => {
      withTemporaryFile((file) => {
        const model = new nn.Sequential(new nn.Linear(3, 2, { dtype: 'float64' }));
        nn.saveParameters(model, file);
        const bytes = fs.readFileSync(file);
        assert.strictEqual(bytes.toString('ascii', 0, 8), 'CVKPARAM');
        assert.strictEqual(bytes.readUInt32LE(8), 1);
        const headerLength = bytes.readUInt32LE(12);
        assert.strictEqual((16 + headerLength) % 8, 0);
        const header = JSON.parse(bytes.toString('utf8', 16, 16 + headerLength));
        assert.deepStrictEqual(header, {
          layout: null,
          tensors: [
            { name: '0.weight', dtype: 'float64', shape: [2, 3], offset: 0, byteLength: 48 },
            { name: '0.bias', dtype: 'float64', shape: [2], offset: 48, byteLength: 16 },
          ],
        });
        assert.strictEqual(bytes.readDoubleLE(16 + headerLength), model.modules[0].weight.data[0]);
      });
    });

    it('refuse a model with other parameters, dtypes or layout, leaving it unchanged', () => {
      withTemporaryFile((file) => {
        nn.saveParameters(smallModel('NCHW', { generator: new nn.Generator(8) }), file);
        const other = smallModel('NHWC', { generator: new nn.Generator(9) });
        const before = other.parameters().map((p) => Float32Array.from(p.data));
        assert.match(thrown(() => nn.loadParameters(other, file)).message, /"NCHW" model, but this model's layout is "NHWC"/);
        assert.strictEqual(thrown(() => nn.loadParameters(smallModel('NCHW', { dtype: 'float64' }), file)).code, 'ERR_DTYPE');
        assert.strictEqual(thrown(() => nn.loadParameters(new nn.Sequential(new nn.Linear(2, 2)), file)).code, 'ERR_ARG');
        other.parameters().forEach((p, i) => assertExactlyEqual(p.data, before[i]));
        fs.writeFileSync(file, 'not a parameter file');
        assert.match(thrown(() => nn.loadParameters(other, file)).message, /not a convkit parameter file/);
      });
    });
  });

  it('drives the loss down on a tiny fixed problem in a few hundred steps', () => {
    const random = rng(41);
    const generator = new nn.Generator(10);
    const model = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1, generator }),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(4 * 4 * 4, 3, { generator }),
    );
    const x = convkit.tensor(randomArray(random, 24 * 8 * 8, Float32Array), [24, 8, 8, 1]);
    const targets = Int32Array.from({ length: 24 }, () => random.int(0, 2));
    const criterion = new nn.CrossEntropyLoss();
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const losses = [];
    for (let step = 0; step < 300; step++) {
      losses.push(criterion.forward(model.forward(x), targets));
      model.backward(criterion.backward());
      optimizer.step();
    }
    assert.ok(losses[299] < 0.05 * losses[0], `loss went from ${losses[0]} to ${losses[299]}`);
    assert.strictEqual(nn.countCorrect(model.eval().forward(x), targets), 24);
  });
});
