#!/usr/bin/env node
// LeNet-5 training throughput, convkit against PyTorch in one run: the model, batch (64) and
// optimiser (Adam) of `convkit train`, timed over training steps on fixed random data (the
// data does not change the work). Usage: node bench/lenet.js [--threads 1,2] [--steps N]
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { parseArgs } = require('node:util');
const convkit = require('..');
const { lenet5 } = require('../dist/app/train/lenet');
const { findPython } = require('./python');
const { ensureTunables } = require('./tunables');

// Same allocator setting for this process and the PyTorch children.
ensureTunables();

const { values } = parseArgs({ options: { threads: { type: 'string', default: '1,2' }, steps: { type: 'string', default: '200' } } });
const threadCounts = values.threads.split(',').map(Number);
const steps = Number(values.steps);
const BATCH = 64;

function convkitImagesPerSecond(layout, threads) {
  convkit.setNumThreads(threads);
  convkit.nn.manualSeed(0);
  const model = lenet5(layout);
  model.train();
  const shape = layout === 'NCHW' ? [BATCH, 1, 28, 28] : [BATCH, 28, 28, 1];
  const images = convkit.tensor(
    Float32Array.from({ length: BATCH * 784 }, () => Math.random()),
    shape,
    { layout },
  );
  const labels = Int32Array.from({ length: BATCH }, (_, i) => i % 10);
  const criterion = new convkit.nn.CrossEntropyLoss();
  const optimizer = new convkit.optim.Adam(model.parameters(), { lr: 1e-3 });
  const step = () => {
    criterion.forward(model.forward(images), labels);
    model.backwardParameters(criterion.backward());
    optimizer.step();
  };
  for (let i = 0; i < Math.max(5, steps / 10); i++) step();
  const start = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) step();
  return (steps * BATCH) / (Number(process.hrtime.bigint() - start) / 1e9);
}

function torchImagesPerSecond(python, layout, threads) {
  const out = execFileSync(python, [path.join(__dirname, 'lenet_torch.py'), String(threads), layout, String(steps)], {
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()).imagesPerSecond;
}

const python = findPython();
console.log(`LeNet-5 training, batch ${BATCH}, Adam, ${steps} steps; convkit ${convkit.isa()}`);
console.log('threads  convkit NCHW  convkit NHWC  torch NCHW  torch channels_last  best ratio');
for (const threads of threadCounts) {
  const ours = { NCHW: convkitImagesPerSecond('NCHW', threads), NHWC: convkitImagesPerSecond('NHWC', threads) };
  const theirs = python ? { nchw: torchImagesPerSecond(python, 'nchw', threads), cl: torchImagesPerSecond(python, 'channels_last', threads) } : null;
  const fmt = (v) => (v === undefined ? 'n/a' : `${Math.round(v)}`).padStart(12);
  const best = Math.max(ours.NCHW, ours.NHWC);
  const ratio = theirs ? (best / Math.max(theirs.nchw, theirs.cl)).toFixed(2) : 'n/a';
  console.log(`${String(threads).padStart(7)} ${fmt(ours.NCHW)} ${fmt(ours.NHWC)} ${fmt(theirs?.nchw)} ${fmt(theirs?.cl).padStart(20)} ${ratio.padStart(11)}`);
}
