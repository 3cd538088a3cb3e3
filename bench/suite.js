'use strict';
// The benchmark suite of issue 3, with the work each layer does (FLOPs for
// convolutions, bytes moved for pools). Shapes are NCHW; weights OIHW.
// Run directly (`node bench/suite.js`) it prints the suite as JSON, which is
// what bench/torch_bench.py reads when it is used on its own.

// Bytes per saved max-pool argmax index (int32), read by the max-pool backward.
const ARGMAX_BYTES = 4;

const pair = (v) => (Array.isArray(v) ? v : [v, v]);

function conv(name, { n, c, h, w, cout, kernel, stride = 1, pad = 0, groups = 1, big = false, quick = false }) {
  return {
    kind: 'conv',
    name,
    n,
    c,
    h,
    w,
    cout,
    kernel: pair(kernel),
    stride: pair(stride),
    pad: pair(pad),
    groups,
    big,
    quick,
  };
}

function pool(name, { mode, n, c, h, w, kernel, stride, pad = 0, quick = false }) {
  return {
    kind: 'pool',
    name,
    mode,
    n,
    c,
    h,
    w,
    kernel: pair(kernel),
    stride: pair(stride ?? kernel),
    pad: pair(pad),
    big: false,
    quick,
  };
}

// `big` layers also get the float64 section; `quick` ones make up the --quick smoke run.
const LAYERS = [
  conv('stem7x7_c3_224', { n: 8, c: 3, h: 224, w: 224, cout: 64, kernel: 7, stride: 2, pad: 3, big: true }),
  conv('conv3x3_c64_56', { n: 8, c: 64, h: 56, w: 56, cout: 64, kernel: 3, pad: 1, big: true }),
  conv('conv3x3_c256_14', { n: 8, c: 256, h: 14, w: 14, cout: 256, kernel: 3, pad: 1, big: true, quick: true }),
  conv('conv1x1_c128_28_to512', { n: 8, c: 128, h: 28, w: 28, cout: 512, kernel: 1, big: true }),
  conv('conv3x3_c128_112_n2', { n: 2, c: 128, h: 112, w: 112, cout: 128, kernel: 3, pad: 1, big: true }),
  conv('depthwise3x3_c128_56', { n: 8, c: 128, h: 56, w: 56, cout: 128, kernel: 3, pad: 1, groups: 128 }),
  conv('lenet5x5_c1_28_n64', { n: 64, c: 1, h: 28, w: 28, cout: 6, kernel: 5, pad: 2, quick: true }),
  conv('tiny6x6_c3_23x20', { n: 2, c: 3, h: 23, w: 20, cout: 7, kernel: 6, stride: [3, 6], pad: [2, 3], quick: true }),
  pool('maxpool3x3s2_c64_112', { mode: 'max', n: 8, c: 64, h: 112, w: 112, kernel: 3, stride: 2, pad: 1 }),
  pool('maxpool2x2_c128_56', { mode: 'max', n: 8, c: 128, h: 56, w: 56, kernel: 2, quick: true }),
  pool('avgpool2x2_c128_56', { mode: 'avg', n: 8, c: 128, h: 56, w: 56, kernel: 2 }),
  pool('avgpool3x3s1_c256_28', { mode: 'avg', n: 8, c: 256, h: 28, w: 28, kernel: 3, stride: 1, pad: 1 }),
];

const TINY_LAYER = 'tiny6x6_c3_23x20';

// The N=64 version of the 56x56 3x3 layer, whose peak RSS shows the workspace stays bounded.
const RSS_LAYER = { ...LAYERS.find((l) => l.name === 'conv3x3_c64_56'), name: 'conv3x3_c64_56_n64', n: 64 };

function outputSize(layer) {
  const [kh, kw] = layer.kernel;
  const [sh, sw] = layer.stride;
  const [ph, pw] = layer.pad;
  return [Math.floor((layer.h + 2 * ph - kh) / sh) + 1, Math.floor((layer.w + 2 * pw - kw) / sw) + 1];
}

function outputChannels(layer) {
  return layer.kind === 'conv' ? layer.cout : layer.c;
}

function forwardFlops(layer) {
  const [oh, ow] = outputSize(layer);
  const [kh, kw] = layer.kernel;
  return 2 * layer.n * layer.cout * oh * ow * (layer.c / layer.groups) * kh * kw;
}

function poolBytes(layer, pass, elementBytes) {
  const [oh, ow] = outputSize(layer);
  const inputElements = layer.n * layer.c * layer.h * layer.w;
  const outputElements = layer.n * layer.c * oh * ow;
  if (pass === 'fwd') return (inputElements + outputElements) * elementBytes;
  // Backward reads dOut and writes dx; max pooling also reads the saved argmax.
  const argmaxBytes = layer.mode === 'max' ? outputElements * ARGMAX_BYTES : 0;
  return (outputElements + inputElements) * elementBytes + argmaxBytes;
}

// The work of one call: FLOPs for a convolution (backward dx + dw counts twice
// the forward; db is negligible), bytes for a pool.
function work(layer, pass, elementBytes) {
  if (layer.kind === 'conv') {
    const flops = forwardFlops(layer) * (pass === 'bwd' ? 2 : 1);
    return { unit: 'GFLOP/s', amount: flops };
  }
  return { unit: 'GB/s', amount: poolBytes(layer, pass, elementBytes) };
}

module.exports = { LAYERS, TINY_LAYER, RSS_LAYER, ARGMAX_BYTES, outputSize, outputChannels, forwardFlops, poolBytes, work };

if (require.main === module) {
  process.stdout.write(JSON.stringify({ layers: LAYERS, tiny: TINY_LAYER, rss: RSS_LAYER }, null, 1) + '\n');
}
