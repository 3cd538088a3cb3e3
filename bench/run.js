'use strict';
// convkit benchmark (`npm run bench`): the suite of issue 3 through convkit and,
// where installed, PyTorch (bench/torch_bench.py) and onnxruntime-node
// (bench/peers.js), all in one run on one machine. See `--help`.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { parseArgs } = require('util');

const { GLIBC_TUNABLES, ensureTunables } = require('./tunables');

ensureTunables();

const suite = require('./suite');
const timing = require('./timing');
const { findPython } = require('./python');
const { convkitCalls } = require('./calls');
const { buildRows, describePeaks, dtypesOf, printAlgorithms, printLatency, printRss, printTable } = require('./report');

const HELP = `usage: npm run bench -- [options]   (or node bench/run.js [options])
  --threads 1,2        thread counts (default 1,2)
  --only a,b           only these layers (names as printed)
  --quick              smoke run: a few layers, a few repetitions
  --no-peers           convkit only
  --json FILE          write every figure to FILE
  --target-ms MS       time one measurement should take (default ${timing.DEFAULTS.targetMs})
  --peak-f32 A,B       fp32 FMA peak in GFLOP/s for 1,2,... threads (default 257,503)
  --peak-f64 A,B       fp64 FMA peak (default 127,255)
  --bandwidth A,B      DRAM bandwidth in GB/s (default 40,77)
  --python PATH        Python with torch (default: the first of python3, /usr/bin/python3 that has it)
  --out                convkit forwards write into one reused output (options.out) instead of
                       a new array per call (the peers still allocate theirs)`;

// Issue 3's figures for its machine kind (2 cores, Zen 5, AVX-512), per thread count.
const DEFAULT_PEAKS = { f32: [257, 503], f64: [127, 255], bandwidth: [40, 77] };

// A mistake on the command line: reported as a message, without a stack.
class UsageError extends Error {}

function parseNumberList(text, flag, { integers = false } = {}) {
  const values = text.split(',').map(Number);
  if (values.some((v) => !(v > 0) || (integers && !Number.isInteger(v)))) {
    throw new UsageError(`${flag} wants positive ${integers ? 'integers' : 'numbers'} separated by commas, got '${text}'`);
  }
  return values;
}

const OPTIONS = {
  threads: { type: 'string', default: '1,2' },
  only: { type: 'string' },
  quick: { type: 'boolean', default: false },
  'no-peers': { type: 'boolean', default: false },
  json: { type: 'string' },
  'target-ms': { type: 'string' },
  'peak-f32': { type: 'string' },
  'peak-f64': { type: 'string' },
  bandwidth: { type: 'string' },
  python: { type: 'string' },
  out: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
};

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({ options: OPTIONS }));
  } catch (err) {
    throw new UsageError(`${err.message}\n${HELP}`);
  }
  const peakFlag = (name, key) => ({
    values: values[name] ? parseNumberList(values[name], `--${name}`) : DEFAULT_PEAKS[key],
    source: values[name] ? `--${name}` : 'issue 3 default',
  });
  return {
    help: values.help,
    threads: parseNumberList(values.threads, '--threads', { integers: true }),
    only: values.only ? values.only.split(',') : null,
    quick: values.quick,
    peers: !values['no-peers'],
    jsonFile: values.json,
    targetMs: values['target-ms'] ? parseNumberList(values['target-ms'], '--target-ms')[0] : timing.DEFAULTS.targetMs,
    peaks: { f32: peakFlag('peak-f32', 'f32'), f64: peakFlag('peak-f64', 'f64'), bandwidth: peakFlag('bandwidth', 'bandwidth') },
    python: values.python,
    out: values.out,
  };
}

// The run takes minutes: a report file that cannot be written fails now, not after it. Opened
// for appending (a FIFO without a reader fails instead of blocking), then removed if it is new.
function checkWritable(file, flag) {
  const existed = fs.existsSync(file);
  try {
    const { O_WRONLY, O_APPEND, O_CREAT, O_NONBLOCK = 0 } = fs.constants;
    fs.closeSync(fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK, 0o666));
  } catch (err) {
    throw new UsageError(`${flag} ${file} cannot be written (${err.code ?? err.message})`);
  }
  if (!existed) fs.rmSync(file, { force: true });
}

function selectLayers(options) {
  const known = new Set(suite.LAYERS.map((l) => l.name));
  const unknown = (options.only ?? []).filter((name) => !known.has(name));
  if (unknown.length) throw new UsageError(`unknown layer(s) ${unknown.join(', ')}; the suite has ${[...known].join(', ')}`);
  return suite.LAYERS.filter((l) => (options.only ? options.only.includes(l.name) : !options.quick || l.quick));
}

// ---------- machine ----------

function machineInfo() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo);
  return {
    cpu: model ? model[1] : os.cpus()[0]?.model,
    logicalCpus: os.cpus().length,
    availableParallelism: os.availableParallelism(),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg(),
  };
}

// ---------- convkit ----------

// Progress on stderr: a bar on a terminal (the one `npm start` uses, from the built package),
// one line per stage anywhere else. Units are timed figures, so the bar moves with the work.
function makeProgress(total) {
  let bar = null;
  if (process.stderr.isTTY) {
    try {
      bar = new (require('../dist/app/cli/progress').ProgressBar)(process.stderr, 'bench', total);
    } catch {
      // Not built yet: convkit itself cannot load either, and the stage lines below still show.
    }
  }
  let done = 0;
  return {
    /** A long step begins: show what runs now. */
    stage(status) {
      if (bar) bar.update(done, status, true);
      else process.stderr.write(`bench: ${status}\n`);
    },
    /** `units` more figures are done. */
    advance(units, status) {
      done += units;
      if (bar) bar.update(done, status);
    },
    finish() {
      if (bar) bar.finish();
    },
  };
}

// How many figures each stage times, for the progress bar.
function progressUnits(layers, options) {
  const perThread = layers.reduce((sum, layer) => sum + dtypesOf(layer).length, 0);
  const convLayers = layers.filter((l) => l.kind === 'conv').length;
  const threads = options.threads.length;
  return {
    convkit: perThread * 2 * threads, // two layouts
    latency: 1,
    rss: 1,
    torch: options.peers ? perThread * 2 * threads : 0, // two memory formats
    onnxruntime: options.peers ? convLayers * threads : 0,
  };
}

function benchConvkit(convkit, layers, options, settings, progress) {
  const results = [];
  for (const threads of options.threads) {
    convkit.setNumThreads(threads);
    for (const layer of layers) {
      for (const dtype of dtypesOf(layer)) {
        for (const layout of ['NHWC', 'NCHW']) {
          const key = { layer: layer.name, dtype, threads, layout };
          let calls;
          try {
            calls = convkitCalls(convkit, layer, layout, dtype);
          } catch (err) {
            for (const pass of ['fwd', 'bwd']) results.push({ ...key, pass, error: err.message });
            continue;
          }
          const plan = calls.plan ? calls.plan() : null;
          const algorithms = plan && {
            fwd: plan.forward.algorithm,
            bwd: plan.backward ? plan.backward.algorithm : `${plan.backwardInput.algorithm}, ${plan.backwardFilter.algorithm}`,
          };
          for (const pass of ['fwd', 'bwd']) {
            try {
              const call = pass === 'fwd' ? (options.out ? calls.fwdInto : calls.fwd) : calls.bwd();
              results.push({ ...key, pass, ...(algorithms && { algorithm: algorithms[pass] }), ...timing.measure(call, settings) });
            } catch (err) {
              results.push({ ...key, pass, error: err.message });
            }
          }
          progress.advance(1, `convkit ${layer.name} ${dtype} ${layout}, ${threads} thread${threads > 1 ? 's' : ''}`);
        }
      }
    }
  }
  return results;
}

// The sync call latency of the tiny layer: the median over many single calls.
function convkitLatency(convkit, options) {
  const tiny = suite.LAYERS.find((l) => l.name === suite.TINY_LAYER);
  const settings = timing.latencySettings(options.quick);
  const latency = [];
  for (const threads of options.threads) {
    convkit.setNumThreads(threads);
    for (const layout of ['NHWC', 'NCHW']) {
      try {
        latency.push({ threads, layout, ...timing.measure(convkitCalls(convkit, tiny, layout, 'float32').fwd, settings) });
      } catch (err) {
        latency.push({ threads, layout, error: err.message });
      }
    }
  }
  return latency;
}

function runJsonChild(command, args, input) {
  const child = spawnSync(command, args, {
    input,
    env: process.env,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  if (child.error) throw child.error;
  if (child.status !== 0) throw new Error(`${path.basename(command)} ${args.join(' ').slice(0, 80)} exited with ${child.status}`);
  return JSON.parse(child.stdout);
}

function convkitRss(options) {
  const threads = Math.max(...options.threads);
  return ['NHWC', 'NCHW'].map((layout) => {
    try {
      return runJsonChild(process.execPath, [path.join(__dirname, 'rss_probe.js'), JSON.stringify({ layout, threads })]);
    } catch (err) {
      return { layout, threads, error: err.message };
    }
  });
}

// ---------- peers ----------

function benchTorch(layers, options) {
  const python = findPython(options.python);
  if (!python) return { available: false, reason: 'no python3 with torch found (apt-get install python3-torch, or --python)' };
  const spec = {
    threads: options.threads,
    passes: ['fwd', 'bwd'],
    dtypes: ['float32', 'float64'],
    layers,
    quick: options.quick,
    targetMs: options.targetMs,
    latency: true,
    rss: true,
    tinyLayer: suite.LAYERS.find((l) => l.name === suite.TINY_LAYER),
    rssLayer: suite.RSS_LAYER,
  };
  try {
    return { available: true, python, ...runJsonChild(python, [path.join(__dirname, 'torch_bench.py')], JSON.stringify(spec)) };
  } catch (err) {
    return { available: false, reason: err.message };
  }
}

function benchOnnxruntime(layers, options) {
  const spec = { threads: options.threads, layers, quick: options.quick, targetMs: options.targetMs };
  try {
    return runJsonChild(process.execPath, [path.join(__dirname, 'peers.js'), 'onnxruntime'], JSON.stringify(spec));
  } catch (err) {
    return { available: false, reason: err.message };
  }
}

// The addon loads on the first native call; isa() makes that happen here, so a
// missing build is reported once instead of as an error in every row.
const formatLoad = (loads) => loads.map((l) => l.toFixed(2)).join(' / ') + ' (1 / 5 / 15 min)';

function commandLine() {
  return ['node', path.relative(process.cwd(), __filename), ...process.argv.slice(2)].join(' ');
}

function loadConvkit() {
  try {
    const convkit = require('..');
    return { module: convkit, isa: convkit.isa(), supportedIsas: convkit.supportedIsas(), buildInfo: convkit.buildInfo() };
  } catch (err) {
    return { error: err.message.split('\n')[0] };
  }
}

function main() {
  const options = parseOptions();
  if (options.help) {
    console.log(HELP);
    return;
  }
  const layers = selectLayers(options);
  if (options.jsonFile) checkWritable(options.jsonFile, '--json');
  const settings = options.quick ? timing.QUICK : { ...timing.DEFAULTS, targetMs: options.targetMs };
  const loaded = loadConvkit();
  const machine = machineInfo();
  const convkitVersion = require('../package.json').version;

  console.log(`command: ${commandLine()}`);
  console.log(
    `machine: ${machine.cpu}, ${machine.logicalCpus} logical CPUs (${machine.availableParallelism} available), ` + `node ${machine.node}, ${machine.os}`,
  );
  console.log(`load average before the run: ${formatLoad(machine.loadAverage)} (other work on the machine skews multi-thread figures)`);
  console.log(`convkit ${convkitVersion}: ${loaded.module ? `isa ${loaded.isa} (supported: ${loaded.supportedIsas.join(', ')})` : 'not loaded'}`);
  console.log(`GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES} (this process and every child)`);
  if (options.out) console.log('--out: convkit forwards write into one reused output per layer (options.out); the peers allocate theirs');
  console.log(describePeaks(options));
  console.log(
    'times are medians of individually timed calls; rate is GFLOP/s for convolutions (backward = dx + dw = 2x forward), ' +
      `GB/s for pools; ck/peer = peer time / convkit time (above 1x: convkit is faster)\n`,
  );

  const convkit = { version: convkitVersion, isa: loaded.isa, supportedIsas: loaded.supportedIsas, buildInfo: loaded.buildInfo };
  const units = progressUnits(layers, options);
  const progress = makeProgress(Object.values(units).reduce((a, b) => a + b, 0));
  if (loaded.module) {
    progress.stage('convkit');
    convkit.results = benchConvkit(loaded.module, layers, options, settings, progress);
    progress.stage('convkit: tiny-layer call latency');
    convkit.latency = convkitLatency(loaded.module, options);
    progress.advance(units.latency, 'convkit: latency done');
    progress.stage('convkit: peak memory of the N=64 layer');
    convkit.rss = convkitRss(options);
    progress.advance(units.rss, 'convkit: memory done');
  } else {
    convkit.error = `convkit could not be loaded: ${loaded.error}`;
    console.log(convkit.error);
  }

  let torch = { available: false, reason: 'skipped (--no-peers)' };
  let ort = { available: false, reason: 'skipped (--no-peers)' };
  if (options.peers) {
    progress.stage('PyTorch (one child process; the bar moves when it ends)');
    torch = benchTorch(layers, options);
    progress.advance(units.torch, 'PyTorch done');
    progress.stage('onnxruntime-node (one child process)');
    ort = benchOnnxruntime(layers, options);
    progress.advance(units.onnxruntime, 'onnxruntime-node done');
  }
  progress.finish();
  console.log(
    torch.available
      ? `torch ${torch.torch} (${torch.python}; oneDNN ${torch.mkldnn ? 'on' : 'off'}, ATen ${torch.capability}, BLAS ${torch.blas})`
      : `torch: not run: ${torch.reason}`,
  );
  console.log(ort.available ? `onnxruntime-node ${ort.version} (float32 conv forward, NCHW)` : `onnxruntime-node: not run: ${ort.reason}`);

  console.log('\nfloat32');
  const rowsF32 = buildRows(layers, options, convkit, torch, ort, 'float32');
  printTable(rowsF32, ort.available);
  const rowsF64 = buildRows(layers, options, convkit, torch, ort, 'float64');
  if (rowsF64.length) {
    console.log('\nfloat64 (big layers; % of the fp64 peak)');
    printTable(rowsF64, false);
  }
  console.log('');
  printAlgorithms(convkit.results);
  printLatency(convkit.latency, torch.latency, options);
  if (convkit.rss) printRss(convkit.rss, torch.rss);
  console.log(`load average after the run: ${formatLoad(os.loadavg())}`);

  if (options.jsonFile) {
    const report = {
      command: commandLine(),
      date: new Date().toISOString(),
      machine,
      glibcTunables: GLIBC_TUNABLES,
      peaks: options.peaks,
      threads: options.threads,
      quick: options.quick,
      convkit,
      torch,
      onnxruntime: ort,
      rows: [...rowsF32, ...rowsF64],
    };
    fs.writeFileSync(options.jsonFile, JSON.stringify(report, null, 1) + '\n');
    console.log(`\nfigures written to ${options.jsonFile}`);
  }
}

try {
  main();
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`bench: ${err.message}`);
  process.exitCode = 2;
}
