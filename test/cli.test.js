'use strict';
// The convkit CLI: help, info, and bad flags (exit code 2 with a message on stderr). Training
// and benchmarking take too long for this suite; their argument handling is what is tested,
// in process (bin/convkit.js itself is started twice).
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const convkit = require('../dist');
const { run } = require('../dist/app/cli/main');

const CLI = path.join(__dirname, '..', 'bin', 'convkit.js');
const VERSION = require('../package.json').version;

function spawnCli(...args) {
  const { status, stdout, stderr } = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status, stdout, stderr };
}

/** bin/convkit.js (or another script) in a child with a time limit: a hang is a failure, not a stuck suite. */
function spawnWithin(seconds, script, ...args) {
  const started = Date.now();
  const child = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: seconds * 1000 });
  return { status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr, seconds: (Date.now() - started) / 1000 };
}

/** Exactly one line on stderr, without a stack trace. */
function assertOneLine(stderr, pattern) {
  const lines = stderr.trimEnd().split('\n');
  assert.strictEqual(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  assert.match(lines[0], pattern);
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

  describe('train checks its arguments and --out before the first epoch', function () {
    this.timeout(180000);
    let folder;
    beforeEach(() => {
      folder = fs.mkdtempSync(path.join(os.tmpdir(), 'convkit-cli-'));
    });
    afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

    const unusable = [
      [
        'a regular file',
        (dir) => {
          const file = path.join(dir, 'file');
          fs.writeFileSync(file, 'keep');
          return file;
        },
        /--out must name a folder, but ".*file" is not a folder/,
      ],
      ['/dev/null', () => '/dev/null', /--out must name a folder, but "\/dev\/null" is not a folder/],
      ['the empty string', () => '', /--out must name a folder, got ""/],
      ['/proc/nope', () => '/proc/nope', /--out: could not create the folder "\/proc\/nope": .*\(ENOENT\)/],
      [
        'a folder below a regular file',
        (dir) => {
          fs.writeFileSync(path.join(dir, 'file'), 'keep');
          return path.join(dir, 'file', 'sub');
        },
        /--out: could not use the folder ".*file\/sub": .*\(ENOTDIR\)/,
      ],
      [
        'a folder whose lenet5.params is a folder',
        (dir) => {
          fs.mkdirSync(path.join(dir, 'lenet5.params'));
          return dir;
        },
        /--out: ".*lenet5\.params" exists and is not a regular file, so it cannot be replaced/,
      ],
    ];
    for (const [what, make, message] of unusable) {
      it(`--out naming ${what} exits 2 with one line, at once`, () => {
        const out = make(folder);
        const child = spawnWithin(20, CLI, 'train', '--epochs', '1', '--out', out);
        assert.strictEqual(child.signal, null, `still running after ${child.seconds} s`);
        assert.strictEqual(child.status, 2, child.stderr);
        assertOneLine(child.stderr, new RegExp(`^convkit train: ${message.source}$`));
        assert.strictEqual(child.stdout, '', 'training started');
      });
    }

    it('--out naming missing nested folders creates them (and nothing else) before training', () => {
      const out = path.join(folder, 'a', 'b');
      // The check the CLI runs before training, on its own (a real run takes a minute).
      const { prepareOutputFolder } = require('../dist/app/train/train');
      prepareOutputFolder(out);
      assert.ok(fs.statSync(out).isDirectory());
      assert.deepStrictEqual(fs.readdirSync(out), []);
    });

    it('--batch-size 1e7 exits 2 with one line, not a RangeError stack', () => {
      const child = spawnWithin(20, CLI, 'train', '--batch-size', '1e7', '--out', folder);
      assert.strictEqual(child.signal, null, `still running after ${child.seconds} s`);
      assert.strictEqual(child.status, 2, child.stderr);
      assert.match(child.stderr, /^convkit train: --batch-size must be at most 8000 \(the training images\), got '1e7'\n/);
      assert.doesNotMatch(child.stderr, /RangeError|\n\s+at /);
      assert.strictEqual(child.stdout, '');
    });

    it('--lr 1e308 stops at the diverged loss, exits 1 with one line and leaves a saved model alone', () => {
      const model = path.join(folder, 'lenet5.params');
      fs.writeFileSync(model, 'the model of an earlier run');
      const child = spawnWithin(120, CLI, 'train', '--lr', '1e308', '--epochs', '1', '--out', folder);
      assert.strictEqual(child.signal, null, `still running after ${child.seconds} s`);
      assert.strictEqual(child.status, 1, child.stderr);
      assertOneLine(
        child.stderr,
        /^convkit train: training diverged: the loss became (NaN|-?Infinity) at epoch 1, step \d+ \(peak learning rate 1e\+308\); try a smaller --lr\. Nothing was saved\.$/,
      );
      assert.doesNotMatch(child.stdout, /^epoch 1\/1/m, 'the epoch ran to its end');
      assert.strictEqual(fs.readFileSync(model, 'utf8'), 'the model of an earlier run');
      assert.deepStrictEqual(fs.readdirSync(folder), ['lenet5.params']);
    });
  });

  describe('bench checks its report files before the run', function () {
    this.timeout(120000);
    const missingFolder = path.join(os.tmpdir(), `convkit-no-such-folder-${process.pid}`, 'report');
    for (const [flag, file] of [
      ['--json', `${missingFolder}.json`],
      ['--svg', `${missingFolder}.svg`],
      ['--json', '/dev/null/report.json'],
    ]) {
      it(`convkit bench ${flag} ${file} exits 2 with one line, before benchmarking`, () => {
        const child = spawnWithin(30, CLI, 'bench', '--quick', '--no-peers', '--threads', '1', flag, file);
        assert.strictEqual(child.signal, null, `still running after ${child.seconds} s`);
        assert.strictEqual(child.status, 2, child.stderr);
        assertOneLine(child.stderr, new RegExp(`^convkit bench: ${flag}: could not write ".*report\\.(json|svg)": .*\\((ENOENT|ENOTDIR)\\)$`));
        assert.strictEqual(child.stdout, '', 'the benchmark ran');
      });
    }

    it('bench/run.js --json to a missing folder exits 2 before benchmarking', () => {
      const child = spawnWithin(
        30,
        path.join(__dirname, '..', 'bench', 'run.js'),
        '--quick',
        '--no-peers',
        '--threads',
        '1',
        '--json',
        `${missingFolder}.json`,
      );
      assert.strictEqual(child.signal, null, `still running after ${child.seconds} s`);
      assert.strictEqual(child.status, 2, child.stderr);
      assertOneLine(child.stderr, /^bench: --json .*report\.json cannot be written \(ENOENT\)$/);
      assert.strictEqual(child.stdout, '');
    });
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
