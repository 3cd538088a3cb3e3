'use strict';
// The convkit CLI: help, info, and bad flags (exit code 2 with a message on stderr). Training
// and benchmarking take too long for this suite; their argument handling is what is tested,
// in process (bin/convkit.js itself is started twice).
const assert = require('assert');
const path = require('path');
const { spawnSync } = require('child_process');
const convkit = require('../dist');
const { run } = require('../dist/cli/main');

const CLI = path.join(__dirname, '..', 'bin', 'convkit.js');
const VERSION = require('../package.json').version;

function spawnCli(...args) {
  const { status, stdout, stderr } = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status, stdout, stderr };
}

/** Runs the CLI in this process, capturing what it prints. */
function cli(...args) {
  const printed = { stdout: '', stderr: '' };
  const saved = { log: console.log, error: console.error };
  console.log = (text) => (printed.stdout += `${text}\n`);
  console.error = (text) => (printed.stderr += `${text}\n`);
  try {
    return { status: run(args), ...printed };
  } finally {
    Object.assign(console, saved);
  }
}

describe('convkit CLI', () => {
  it('lists its commands with --help, and on stderr with exit code 2 without a command', () => {
    const help = spawnCli('--help');
    assert.strictEqual(help.status, 0);
    assert.match(help.stdout, /usage: convkit <command>/);
    for (const command of ['train', 'bench', 'info']) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
    const bare = spawnCli();
    assert.strictEqual(bare.status, 2);
    assert.match(bare.stderr, /usage: convkit <command>/);
  });

  it('info prints the version, the ISA in use, the threads and the build flags', () => {
    const { status, stdout } = cli('info');
    assert.strictEqual(status, 0);
    assert.strictEqual(stdout, spawnCli('info').stdout, 'bin/convkit.js prints the same');
    assert.match(stdout, new RegExp(`^convkit ${VERSION.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(stdout, new RegExp(`^isa: ${convkit.isa()} `, 'm'));
    assert.match(stdout, /^threads: \d+ /m);
    assert.match(stdout, /^build:\n {2}\w+: /m);
  });

  it('has --help on train and info (bench --help is bench/run.js help, not run here)', () => {
    assert.match(cli('train', '--help').stdout, /--epochs N.*\n(.*\n)*.*--layout L/);
    assert.match(cli('info', '-h').stdout, /usage: convkit info/);
  });

  for (const [args, message] of [
    [['train', '--epochs', '0'], /--epochs must be a positive integer, got '0'/],
    [['train', '--layout', 'NCWH'], /--layout must be one of NCHW, NHWC, got 'NCWH'/],
    [['train', '--lr', 'fast'], /--lr must be a positive number, got 'fast'/],
    [['train', '--seed=-3'], /--seed must be an integer from 0 to 4294967295/],
    [['train', '--batchsize', '32'], /Unknown option '--batchsize'/],
    [['train', '--epochs'], /'--epochs <value>' argument missing/],
    [['info', '--verbose'], /Unknown option '--verbose'/],
    [['bench', '--svg'], /'--svg FILE' needs a file name/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ]) {
    it(`rejects \`convkit ${args.join(' ')}\` with exit code 2`, () => {
      const { status, stdout, stderr } = cli(...args);
      assert.strictEqual(status, 2, stderr);
      assert.match(stderr, message);
      assert.strictEqual(stdout, '');
    });
  }
});
