// The main job: LeNet-5 trained on the mnist package's digits, with a progress bar, per-epoch
// test accuracy, the learning curves as SVG and the trained parameters saved next to them.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ConvkitError, getNumThreads, isa, nn, optim, setNumThreads, Tensor } from '#lib';
import type { Layout } from '#lib';
import { describe } from '#lib/errors';
import { ioError, writeFileAtomic } from '#lib/files';
import { ProgressBar } from '../cli/progress';
import { lineCharts } from '../plot/svg';
import { lenet5 } from './lenet';
import { Dataset, IMAGE_SIZE, loadMnist, PIXELS } from './mnist';

const { countCorrect, CrossEntropyLoss, Generator, saveParameters } = nn;
const { Adam, SGD } = optim;

export type OptimizerName = 'adam' | 'sgd';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Kernel threads; null keeps the library's default (the CPUs available). */
  threads: number | null;
  layout: Layout;
  optimizer: OptimizerName;
  /** Peak learning rate; null: the optimizer's default (DEFAULT_LR). SGD uses momentum 0.9. */
  lr: number | null;
  seed: number;
  outDir: string;
}

/** Peak learning rates, annealed to 0 by a cosine over the run (tuned for >= 97% in 5 epochs). */
export const DEFAULT_LR: Record<OptimizerName, number> = { adam: 6e-3, sgd: 0.05 };

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  imagesPerSecond: number;
}

export interface TrainResult {
  history: EpochRecord[];
  testAccuracy: number;
  /** Training images per second over all epochs (evaluation excluded). */
  throughput: number;
  modelFile: string;
  curvesFile: string;
}

const EVAL_BATCH = 500;
const MODEL_FILE = 'lenet5.params';
const CURVES_FILE = 'lenet5-curves.svg';

/** The loss stopped being a finite number: the run is abandoned and nothing is saved. */
export class TrainingDivergedError extends Error {}

/**
 * Makes sure `folder` is a folder that can be written, creating it (and missing parents) if
 * needed, and that the files the job writes there are not folders: checked before the first
 * epoch, so that an unusable --out fails at once instead of losing the trained model.
 * Errors are ConvkitErrors (ERR_ARG, ERR_IO) whose messages start with "--out".
 */
export function prepareOutputFolder(folder: string): void {
  const op = '--out';
  if (typeof folder !== 'string' || folder === '' || folder.includes('\0')) {
    throw new ConvkitError('ERR_ARG', `${op} must name a folder, got ${describe(folder)}`);
  }
  makeFolder(op, folder);
  // Root may write anywhere that permissions allow, so only a real write tells (a read-only mount, say).
  const probe = path.join(folder, `.convkit-write-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.closeSync(fs.openSync(probe, 'wx'));
    fs.unlinkSync(probe);
  } catch (error) {
    throw ioError(op, 'write into the folder', folder, error);
  }
  for (const name of [MODEL_FILE, CURVES_FILE]) {
    const file = path.join(folder, name);
    const stats = fs.statSync(file, { throwIfNoEntry: false });
    if (stats && !stats.isFile()) throw new ConvkitError('ERR_ARG', `${op}: ${describe(file)} exists and is not a regular file, so it cannot be replaced`);
  }
}

/**
 * mkdir -p without Node's recursive mkdir, which loops forever on a path such as /proc/nope
 * (ENOENT from a parent that exists): each missing folder is created once, from the top.
 */
function makeFolder(op: string, folder: string): void {
  const missing: string[] = [];
  for (let current = path.resolve(folder); ; current = path.dirname(current)) {
    let stats: fs.Stats | undefined;
    try {
      stats = fs.statSync(current, { throwIfNoEntry: false });
    } catch (error) {
      throw ioError(op, 'use the folder', current, error);
    }
    if (stats === undefined && path.dirname(current) !== current) {
      missing.push(current);
      continue;
    }
    if (stats === undefined || !stats.isDirectory()) {
      const which = missing.length === 0 ? describe(folder) : `${describe(folder)}: ${describe(current)}`;
      throw new ConvkitError('ERR_ARG', `${op} must name a folder, but ${which} is ${stats ? 'not a folder' : 'missing'}`);
    }
    break;
  }
  for (const created of missing.reverse()) {
    try {
      fs.mkdirSync(created);
    } catch (error) {
      const raced = (error as NodeJS.ErrnoException).code === 'EEXIST' && fs.statSync(created, { throwIfNoEntry: false })?.isDirectory();
      if (!raced) throw ioError(op, 'create the folder', created, error);
    }
  }
}

/** Reuses one buffer per batch size for the images and labels of a batch. */
class Batches {
  private readonly images: Float32Array;
  private readonly labels: Int32Array;

  constructor(
    private readonly data: Dataset,
    private readonly batchSize: number,
    private readonly layout: Layout,
  ) {
    // A batch never holds more than the whole set, whatever batchSize says.
    const capacity = Math.min(batchSize, data.count);
    this.images = new Float32Array(capacity * PIXELS);
    this.labels = new Int32Array(capacity);
  }

  /** The images (one channel: the same bytes in NHWC and NCHW) and labels at order[start...]. */
  gather(order: Uint32Array, start: number): { x: Tensor; labels: Int32Array } {
    const count = Math.min(this.batchSize, order.length - start);
    for (let i = 0; i < count; i++) {
      const source = order[start + i];
      this.images.set(this.data.images.subarray(source * PIXELS, (source + 1) * PIXELS), i * PIXELS);
      this.labels[i] = this.data.labels[source];
    }
    const shape = this.layout === 'NHWC' ? [count, IMAGE_SIZE, IMAGE_SIZE, 1] : [count, 1, IMAGE_SIZE, IMAGE_SIZE];
    return { x: new Tensor(this.images.subarray(0, count * PIXELS), shape, this.layout), labels: this.labels.subarray(0, count) };
  }
}

function evaluate(model: nn.Module, data: Dataset, layout: Layout): { loss: number; accuracy: number } {
  const criterion = new CrossEntropyLoss({ reduction: 'sum' });
  const batches = new Batches(data, EVAL_BATCH, layout);
  const order = Uint32Array.from({ length: data.count }, (_, i) => i);
  let loss = 0;
  let correct = 0;
  model.eval();
  for (let start = 0; start < data.count; start += EVAL_BATCH) {
    const { x, labels } = batches.gather(order, start);
    const logits = model.forward(x);
    loss += criterion.forward(logits, labels);
    correct += countCorrect(logits, labels);
  }
  model.train();
  return { loss: loss / data.count, accuracy: correct / data.count };
}

/** Cosine annealing from lr to 0 over the whole run: large steps early, fine ones at the end. */
function learningRate(lr: number, step: number, totalSteps: number): number {
  return 0.5 * lr * (1 + Math.cos((Math.PI * step) / totalSteps));
}

const percent = (fraction: number): string => `${(100 * fraction).toFixed(2)}%`;

/** A finite loss, or TrainingDivergedError: NaN or infinite parameters would only train to chance. */
function checkFinite(loss: number, where: string, lr: number): number {
  if (!Number.isFinite(loss)) {
    throw new TrainingDivergedError(
      `training diverged: the loss became ${loss} at ${where} (peak learning rate ${lr}); try a smaller --lr. Nothing was saved.`,
    );
  }
  return loss;
}

export function trainLenet(options: TrainOptions, stdout: NodeJS.WriteStream, stderr: NodeJS.WriteStream): TrainResult {
  prepareOutputFolder(options.outDir);
  if (options.threads !== null) setNumThreads(options.threads);
  const { train, test } = loadMnist();
  const generator = new Generator(options.seed);
  const model = lenet5(options.layout, { generator });
  const lr = options.lr ?? DEFAULT_LR[options.optimizer];
  const optimizer = options.optimizer === 'adam' ? new Adam(model.parameters(), { lr }) : new SGD(model.parameters(), { lr, momentum: 0.9 });
  const criterion = new CrossEntropyLoss();
  const batches = new Batches(train, options.batchSize, options.layout);
  const order = Uint32Array.from({ length: train.count }, (_, i) => i);
  const steps = Math.ceil(train.count / options.batchSize);

  stdout.write(
    `LeNet-5 on MNIST: ${train.count} training and ${test.count} test digits, batch ${options.batchSize}, ` +
      `${options.optimizer} lr ${lr}, layout ${options.layout}, ${getNumThreads()} thread(s), isa ${isa()}, seed ${options.seed}\n`,
  );
  const history: EpochRecord[] = [];
  let trainingSeconds = 0;
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    generator.shuffle(order);
    const bar = new ProgressBar(stderr, `epoch ${epoch}/${options.epochs}`, steps);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const started = process.hrtime.bigint();
    for (let step = 0; step < steps; step++) {
      const { x, labels } = batches.gather(order, step * options.batchSize);
      const logits = model.forward(x);
      const loss = criterion.forward(logits, labels);
      if (!Number.isFinite(loss)) bar.finish();
      lossSum += checkFinite(loss, `epoch ${epoch}, step ${step + 1}`, lr) * labels.length;
      correct += countCorrect(logits, labels);
      model.backwardParameters(criterion.backward());
      optimizer.lr = learningRate(lr, (epoch - 1) * steps + step, options.epochs * steps);
      optimizer.step();
      seen += labels.length;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      bar.update(step + 1, `loss ${(lossSum / seen).toFixed(4)}  ${Math.round(seen / seconds)} images/s`);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    bar.finish();
    trainingSeconds += seconds;
    const evaluation = evaluate(model, test, options.layout);
    checkFinite(evaluation.loss, `the test after epoch ${epoch}`, lr);
    const record: EpochRecord = {
      epoch,
      trainLoss: lossSum / seen,
      trainAccuracy: correct / seen,
      testLoss: evaluation.loss,
      testAccuracy: evaluation.accuracy,
      imagesPerSecond: seen / seconds,
    };
    history.push(record);
    stdout.write(
      `epoch ${epoch}/${options.epochs}  train loss ${record.trainLoss.toFixed(4)}  train accuracy ${percent(record.trainAccuracy)}  ` +
        `test loss ${record.testLoss.toFixed(4)}  test accuracy ${percent(record.testAccuracy)}  ${Math.round(record.imagesPerSecond)} images/s\n`,
    );
  }

  // The folder was checked before training, but it may have been removed since: made again if so.
  const modelFile = path.join(options.outDir, MODEL_FILE);
  const curvesFile = path.join(options.outDir, CURVES_FILE);
  makeFolder('--out', options.outDir);
  saveParameters(model, modelFile);
  writeFileAtomic('convkit train', curvesFile, Buffer.from(learningCurves(history)));
  const testAccuracy = history[history.length - 1].testAccuracy;
  const throughput = (train.count * options.epochs) / trainingSeconds;
  stdout.write(`parameters: ${modelFile}\nlearning curves: ${curvesFile}\n`);
  stdout.write(`test accuracy: ${percent(testAccuracy)}  train throughput: ${Math.round(throughput)} images/s\n`);
  return { history, testAccuracy, throughput, modelFile, curvesFile };
}

function learningCurves(history: EpochRecord[]): string {
  const series = (name: string, color: string, value: (r: EpochRecord) => number) => ({
    name,
    color,
    points: history.map((r): [number, number] => [r.epoch, value(r)]),
  });
  return lineCharts([
    {
      title: 'LeNet-5 on MNIST: loss',
      xLabel: 'epoch',
      yLabel: 'cross-entropy',
      series: [series('train', '#3b7dd8', (r) => r.trainLoss), series('test', '#d8553b', (r) => r.testLoss)],
    },
    {
      title: 'LeNet-5 on MNIST: accuracy',
      xLabel: 'epoch',
      yLabel: 'accuracy (%)',
      series: [series('train', '#3b7dd8', (r) => 100 * r.trainAccuracy), series('test', '#d8553b', (r) => 100 * r.testAccuracy)],
    },
  ]);
}
