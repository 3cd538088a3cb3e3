'use strict';
// onnxruntime-node peer (float32 conv forward only). It is not a dependency of
// convkit: it is installed on demand into bench/.peers/.
//
//   node bench/peers.js install        install it (if missing) and say where
//   node bench/peers.js onnxruntime    read a spec {threads, layers, quick, targetMs}
//                                      on stdin, print the timings as JSON

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { convModel } = require('./onnx_model');
const timing = require('./timing');

const ORT_VERSION = '1.30.0';
const PEERS_DIR = path.join(__dirname, '.peers');
const ORT_DIR = path.join(PEERS_DIR, 'node_modules', 'onnxruntime-node');

function installedVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(ORT_DIR, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

// Returns { available, version, reason }. Installation output goes to stderr so
// that stdout stays JSON.
function ensureOnnxruntime() {
  if (installedVersion() === ORT_VERSION) return { available: true, version: ORT_VERSION };
  process.stderr.write(`bench: installing onnxruntime-node@${ORT_VERSION} into ${PEERS_DIR}\n`);
  fs.mkdirSync(PEERS_DIR, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const install = spawnSync(npm, ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', PEERS_DIR, `onnxruntime-node@${ORT_VERSION}`], {
    // The CPU binaries ship in the npm tarball; skipping the install script's
    // extra download (CUDA provider, from nuget.org) keeps it to the npm registry.
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    stdio: ['ignore', process.stderr, process.stderr],
  });
  if (install.status !== 0 || installedVersion() !== ORT_VERSION) {
    const why = install.error ? install.error.message : `npm install exited with ${install.status}`;
    return { available: false, reason: `onnxruntime-node@${ORT_VERSION} could not be installed (${why})` };
  }
  return { available: true, version: ORT_VERSION };
}

async function timeConv(ort, layer, threads, settings) {
  const session = await ort.InferenceSession.create(convModel(layer), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const input = new Float32Array(layer.n * layer.c * layer.h * layer.w);
  for (let i = 0; i < input.length; i++) input[i] = Math.random() - 0.5;
  const feeds = { X: new ort.Tensor('float32', input, [layer.n, layer.c, layer.h, layer.w]) };
  try {
    return await timing.measureAsync(() => session.run(feeds), settings);
  } finally {
    await session.release();
  }
}

async function benchOnnxruntime(spec) {
  const installed = ensureOnnxruntime();
  if (!installed.available) return installed;
  const ort = require(ORT_DIR);
  const settings = spec.quick ? timing.QUICK : { ...timing.DEFAULTS, targetMs: spec.targetMs ?? timing.DEFAULTS.targetMs };
  const results = [];
  for (const threads of spec.threads) {
    for (const layer of spec.layers.filter((l) => l.kind === 'conv')) {
      const measured = await timeConv(ort, layer, threads, settings);
      results.push({ ...measured, layer: layer.name, pass: 'fwd', dtype: 'float32', threads, layout: 'NCHW' });
    }
  }
  return { available: true, version: installed.version, results };
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

async function main() {
  const command = process.argv[2];
  if (command === 'install') {
    const installed = ensureOnnxruntime();
    console.log(installed.available ? `onnxruntime-node ${installed.version} in ${ORT_DIR}` : installed.reason);
    process.exitCode = installed.available ? 0 : 1;
  } else if (command === 'onnxruntime') {
    const spec = JSON.parse(readStdin() || '{}');
    spec.threads ??= [1, 2];
    spec.layers ??= require('./suite').LAYERS;
    process.stdout.write(JSON.stringify(await benchOnnxruntime(spec)) + '\n');
  } else {
    console.error('usage: node bench/peers.js install | onnxruntime < spec.json');
    process.exitCode = 2;
  }
}

module.exports = { ORT_VERSION, ensureOnnxruntime, benchOnnxruntime };

if (require.main === module) {
  main().catch((err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exitCode = 1;
  });
}
