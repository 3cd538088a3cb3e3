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

const TORCH_LAYOUT_NAMES = { contiguous: 'nchw', channels_last: 'cl' };

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

function dtypesOf(layer) {
  return layer.big ? ['float32', 'float64'] : ['float32'];
}

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

// ---------- report ----------

function peakFor(options, layer, dtype, threads) {
  const peak = layer.kind === 'pool' ? options.peaks.bandwidth : dtype === 'float64' ? options.peaks.f64 : options.peaks.f32;
  return peak.values[threads - 1] ?? null;
}

function best(results, layer, pass, dtype, threads) {
  const found = (results ?? []).filter((r) => r.layer === layer && r.pass === pass && r.dtype === dtype && r.threads === threads && r.medianNs !== undefined);
  return found.length ? found.reduce((a, b) => (b.medianNs < a.medianNs ? b : a)) : null;
}

function firstError(results, layer, pass, dtype, threads) {
  return (results ?? []).find((r) => r.layer === layer && r.pass === pass && r.dtype === dtype && r.threads === threads && r.error)?.error;
}

// One figure: time, rate (GFLOP/s or GB/s) and % of peak.
function figure(result, layer, pass, dtype, peak) {
  if (!result) return null;
  const { amount, unit } = suite.work(layer, pass, dtype === 'float64' ? 8 : 4);
  const rate = amount / result.medianNs; // units per ns = G units per s
  return { ms: result.medianNs / 1e6, rate, unit, percentOfPeak: peak ? (100 * rate) / peak : null, layout: result.layout, reps: result.reps };
}

function buildRows(layers, options, convkit, torch, ort, dtype) {
  const rows = [];
  for (const layer of layers.filter((l) => dtypesOf(l).includes(dtype))) {
    for (const pass of ['fwd', 'bwd']) {
      for (const threads of options.threads) {
        const peak = peakFor(options, layer, dtype, threads);
        const mine = figure(best(convkit.results, layer.name, pass, dtype, threads), layer, pass, dtype, peak);
        const oneThread = best(convkit.results, layer.name, pass, dtype, 1);
        const torchFigure = figure(best(torch.results, layer.name, pass, dtype, threads), layer, pass, dtype, peak);
        const ortFigure = figure(best(ort.results, layer.name, pass, dtype, threads), layer, pass, dtype, peak);
        rows.push({
          layer: layer.name,
          pass,
          dtype,
          threads,
          peak,
          convkit: mine,
          convkitError: mine ? undefined : firstError(convkit.results, layer.name, pass, dtype, threads),
          speedupOverOneThread: mine && oneThread && threads > 1 ? oneThread.medianNs / (mine.ms * 1e6) : null,
          torch: torchFigure,
          speedupOverTorch: mine && torchFigure ? torchFigure.ms / mine.ms : null,
          onnxruntime: ortFigure,
          speedupOverOnnxruntime: mine && ortFigure ? ortFigure.ms / mine.ms : null,
        });
      }
    }
  }
  return rows;
}

const fixed = (value, digits) => (value === null || value === undefined ? '-' : value.toFixed(digits));
const times = (value) => (value ? `${value.toFixed(2)}x` : '-');
const percent = (value) => (value === null ? '' : ` ${Math.round(value)}%`);

function figureCells(f, layoutName = (l) => l) {
  if (!f) return ['-', '-', '-'];
  return [fixed(f.ms, f.ms < 1 ? 4 : 2), `${fixed(f.rate, 1)}${percent(f.percentOfPeak)}`, layoutName(f.layout)];
}

function printTable(rows, withOnnxruntime) {
  const header = ['layer', 'pass', 'T', 'convkit ms', 'rate %peak', 'layout', 'vs 1T', 'torch ms', 'rate %peak', 'fmt', 'ck/torch'];
  if (withOnnxruntime) header.push('ort ms', 'rate %peak', 'ck/ort');
  const lines = rows.map((row) => {
    const convkitCells = row.convkit ? figureCells(row.convkit) : [row.convkitError ? 'error' : '-', '-', '-'];
    const cells = [
      row.layer,
      row.pass,
      String(row.threads),
      ...convkitCells,
      times(row.speedupOverOneThread),
      ...figureCells(row.torch, (l) => TORCH_LAYOUT_NAMES[l] ?? l),
      times(row.speedupOverTorch),
    ];
    if (withOnnxruntime) {
      const [ms, rate] = figureCells(row.onnxruntime);
      cells.push(ms, rate, times(row.speedupOverOnnxruntime));
    }
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) => cells.map((cell, i) => (i === 0 || i === 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(format(header));
  for (const cells of lines) console.log(format(cells));
  const errors = rows.filter((r) => r.convkitError);
  for (const row of errors) console.log(`  convkit error in ${row.layer} ${row.pass} T=${row.threads}: ${row.convkitError}`);
}

// The algorithm each convolution pass ran (conv2dPlan), once per layer, layout and dtype.
function printAlgorithms(results) {
  const seen = new Map();
  for (const r of results ?? []) {
    if (r.algorithm === undefined) continue;
    const key = `${r.layer} ${r.dtype} ${r.layout}`;
    const entry = seen.get(key) ?? {};
    entry[r.pass] = entry[r.pass] ?? new Set();
    entry[r.pass].add(r.algorithm);
    seen.set(key, entry);
  }
  if (seen.size === 0) return;
  console.log('convkit algorithms (forward | backward: dx, dw for convolutions)');
  for (const [key, entry] of seen) console.log(`  ${key}: ${[...(entry.fwd ?? [])].join('/')} | ${[...(entry.bwd ?? [])].join('/')}`);
  console.log('');
}

function printLatency(convkitLatency, torchLatency, options) {
  const describe = (entries, threads, layoutName = (l) => l) => {
    const measured = (entries ?? []).filter((e) => e.threads === threads && e.medianNs !== undefined);
    if (!measured.length) return '-';
    const fastest = measured.reduce((a, b) => (b.medianNs < a.medianNs ? b : a));
    return `${(fastest.medianNs / 1e3).toFixed(1)} us (${layoutName(fastest.layout)}, ${fastest.reps} calls)`;
  };
  for (const threads of options.threads) {
    console.log(
      `tiny layer sync call latency (forward, float32), T=${threads}: convkit ${describe(convkitLatency, threads)}; ` +
        `torch ${describe(torchLatency, threads, (l) => TORCH_LAYOUT_NAMES[l])}`,
    );
  }
}

function printRss(convkitRssResults, torchRss) {
  const mb = (kib) => `${(kib / 1024).toFixed(0)} MB`;
  const describe = (entry, name) => {
    if (entry.error) return `${name} ${entry.layout}: error (${entry.error})`;
    const extraKiB = entry.peakKiB - entry.baselineKiB - entry.outputBytes / 1024;
    return (
      `${name} ${entry.layout}: peak ${mb(entry.peakKiB)} (baseline with the inputs ${mb(entry.baselineKiB)}, ` +
      `output ${mb(entry.outputBytes / 1024)}): extra ${mb(Math.max(extraKiB, 0))}`
    );
  };
  const l = suite.RSS_LAYER;
  console.log(`peak RSS, ${l.name} forward (N=${l.n} C${l.c} ${l.h}x${l.w} 3x3 -> ${l.cout}, float32, ` + `T=${(convkitRssResults[0] ?? {}).threads}):`);
  for (const entry of convkitRssResults) console.log(`  ${describe(entry, 'convkit')}`);
  for (const entry of torchRss ?? []) console.log(`  ${describe({ ...entry, layout: TORCH_LAYOUT_NAMES[entry.layout] }, 'torch')}`);
}

function describePeaks(options) {
  const show = ({ values, source }, unit) => `${values.join(' / ')} ${unit} (${source})`;
  return (
    `peaks for %, by thread count 1/2/...: fp32 ${show(options.peaks.f32, 'GFLOP/s')}; ` +
    `fp64 ${show(options.peaks.f64, 'GFLOP/s')}; DRAM ${show(options.peaks.bandwidth, 'GB/s')}`
  );
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
