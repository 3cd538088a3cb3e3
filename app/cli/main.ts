// `convkit <command>`: train (the LeNet-5 job of `npm start`), bench (the kernel benchmark) and
// info (what this build runs on).
import * as os from 'os';
import { buildInfo, ConvkitError, getNumThreads, isa, supportedIsas } from '#lib';
import { TRAIN_COUNT } from '../train/mnist';
import { DEFAULT_LR, prepareOutputFolder, trainLenet, TrainingDivergedError } from '../train/train';
import { choice, parseFlags, positiveInteger, positiveNumber, seedValue, UsageError } from './args';
import { runBench } from './bench';

// Read at run time from dist/app/cli/, three folders below the package root.
const VERSION: string = (require('../../../package.json') as { version: string }).version;

const USAGE = `usage: convkit <command> [options]

commands:
  train   train LeNet-5 on MNIST digits (the job \`npm start\` runs)
  bench   benchmark the convolution and pooling kernels against PyTorch and onnxruntime-node
  info    convkit's version, instruction set in use, threads and build flags

Run \`convkit <command> --help\` for the options of a command.`;

const TRAIN_USAGE = `usage: convkit train [options]

Trains LeNet-5 on the mnist package's 10,000 digits (8,000 to train, 2,000 to test, a fixed
split), shows a progress bar per epoch, prints the test accuracy after each epoch, and writes
the trained parameters (lenet5.params) and learning curves (lenet5-curves.svg) to --out.

options:
  --epochs N          epochs (default 5)
  --batch-size N      images per training step (default 64)
  --threads N         kernel threads (default: the CPUs available)
  --layout L          activation layout, NHWC or NCHW (default NCHW)
  --optimizer NAME    adam, or sgd with momentum 0.9 (default adam)
  --lr X              peak learning rate, annealed to 0 by a cosine over the run
                      (default ${DEFAULT_LR.adam} for adam, ${DEFAULT_LR.sgd} for sgd)
  --seed N            seed of the initial weights and of the shuffling (default 0)
  --out DIR           output folder (default ./out)
  -h, --help          show this help`;

const INFO_USAGE = `usage: convkit info

Prints convkit's version, the instruction set its kernels use (CONVKIT_ISA=avx512|avx2|generic
forces one), the supported ones, the kernel threads and the addon's build flags.`;

const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;

function train(args: string[]): number {
  const values = parseFlags(args, {
    ...HELP_FLAG,
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    threads: { type: 'string' },
    layout: { type: 'string' },
    optimizer: { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.help) {
    console.log(TRAIN_USAGE);
    return 0;
  }
  const options = {
    epochs: positiveInteger('epochs', values.epochs, 5),
    batchSize: positiveInteger('batch-size', values['batch-size'], 64),
    threads: values.threads === undefined ? null : positiveInteger('threads', values.threads, 1),
    layout: choice('layout', values.layout, ['NCHW', 'NHWC'] as const, 'NCHW'),
    optimizer: choice('optimizer', values.optimizer, ['adam', 'sgd'] as const, 'adam'),
    lr: positiveNumber('lr', values.lr),
    seed: seedValue('seed', values.seed, 0),
    outDir: typeof values.out === 'string' ? values.out : 'out',
  };
  // A batch cannot hold more than the training set; past it the batch buffers alone would be gigabytes.
  if (options.batchSize > TRAIN_COUNT) throw new UsageError(`--batch-size must be at most ${TRAIN_COUNT} (the training images), got '${values['batch-size']}'`);
  // Checked before the first epoch, so that an unusable --out costs nothing and loses no model.
  try {
    prepareOutputFolder(options.outDir);
  } catch (error) {
    if (error instanceof ConvkitError) throw new UsageError(error.message, false);
    throw error;
  }
  trainLenet(options, process.stdout, process.stderr);
  return 0;
}

function info(args: string[]): number {
  if (parseFlags(args, HELP_FLAG).help) {
    console.log(INFO_USAGE);
    return 0;
  }
  const lines = [
    `convkit ${VERSION}`,
    `isa: ${isa()} (supported here: ${supportedIsas().join(', ')}${process.env.CONVKIT_ISA ? `; CONVKIT_ISA=${process.env.CONVKIT_ISA}` : ''})`,
    `threads: ${getNumThreads()} (CPUs available: ${os.availableParallelism()})`,
    `node: ${process.version} (${process.platform} ${process.arch})`,
    'build:',
    ...Object.entries(buildInfo()).map(([key, value]) => `  ${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`),
  ];
  console.log(lines.join('\n'));
  return 0;
}

const COMMANDS: Record<string, (args: string[]) => number> = { train, bench: runBench, info };

/** Runs the CLI on argv (without node and the script); returns the exit code. */
export function run(argv: string[]): number {
  const [command, ...args] = argv;
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command === '--version') {
    console.log(VERSION);
    return 0;
  }
  const handler = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  try {
    if (handler === undefined) throw new UsageError(`unknown command '${command}'`);
    return handler(args);
  } catch (error) {
    if (error instanceof UsageError) {
      const help = handler ? `Run \`convkit ${command} --help\` for its options.` : USAGE;
      console.error(`convkit${handler ? ` ${command}` : ''}: ${error.message}${error.showHelp ? `\n${help}` : ''}`);
      return 2;
    }
    if (error instanceof TrainingDivergedError) {
      console.error(`convkit ${command}: ${error.message}`);
      return 1;
    }
    if (error instanceof ConvkitError) {
      console.error(`convkit ${command}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
