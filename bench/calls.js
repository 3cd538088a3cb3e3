'use strict';
// The convkit calls the benchmark times for one suite layer, shared by bench/run.js and
// bench/profile.js.

function randomArray(ArrayType, length) {
  const data = new ArrayType(length);
  for (let i = 0; i < length; i++) data[i] = Math.random() - 0.5;
  return data;
}

// The calls timed for one layer, layout and dtype: `fwd` is the inference call (`fwdInto` the
// same writing into a reused output, `fwdPacked` with weights packed ahead, convolutions only),
// `bwd()` runs the forward once and returns the backward call on its cache.
function convkitCalls(convkit, layer, layout, dtype) {
  const ArrayType = dtype === 'float64' ? Float64Array : Float32Array;
  const { n, c, h, w } = layer;
  const [kh, kw] = layer.kernel;
  const x = convkit.tensor(randomArray(ArrayType, n * c * h * w), layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w], { layout });
  const gradientOf = (output) => convkit.tensor(randomArray(ArrayType, output.data.length), output.shape, { layout });
  if (layer.kind === 'conv') {
    const cin = c / layer.groups;
    const wShape = layout === 'NHWC' ? [kh, kw, cin, layer.cout] : [layer.cout, cin, kh, kw];
    const weights = convkit.tensor(randomArray(ArrayType, kh * kw * cin * layer.cout), wShape, { layout });
    const bias = randomArray(ArrayType, layer.cout);
    const options = { layout, stride: layer.stride, padding: layer.pad, groups: layer.groups };
    let packed = null;
    let out;
    return {
      fwd: () => convkit.conv2d(x, weights, bias, options),
      // The same into one output allocated by the first call (options.out).
      fwdInto: () => (out = convkit.conv2d(x, weights, bias, out ? { ...options, out } : options)),
      // Inference with the weights packed once (packConv2dWeights), as a server would hold them.
      fwdPacked: () => convkit.conv2d(x, packed ?? (packed = convkit.packConv2dWeights(weights, options)), bias, options),
      // Which algorithm each pass runs (null on a build without conv2dPlan).
      plan: () => (convkit.conv2dPlan ? convkit.conv2dPlan(x, weights, options) : null),
      bwd: () => {
        const { output, cache } = convkit.conv2dForward(x, weights, bias, options);
        const dOut = gradientOf(output);
        return () => convkit.conv2dBackward(dOut, cache);
      },
    };
  }
  const options = { layout, kernelSize: layer.kernel, stride: layer.stride, padding: layer.pad };
  const pool = layer.mode === 'max' ? convkit.maxPool2d : convkit.avgPool2d;
  let out;
  return {
    // Which algorithm each pass runs (null on a build without pool2dPlan).
    plan: () => (convkit.pool2dPlan ? convkit.pool2dPlan(x, { ...options, mode: layer.mode }) : null),
    fwd: () => pool(x, options),
    fwdInto: () => (out = pool(x, out ? { ...options, out } : options)),
    bwd: () => {
      const { output, cache } = convkit.pool2dForward(x, { ...options, mode: layer.mode });
      const dOut = gradientOf(output);
      return () => convkit.pool2dBackward(dOut, cache);
    },
  };
}

module.exports = { convkitCalls };
