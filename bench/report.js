'use strict';
// The benchmark's report: rows of figures (time, rate, % of peak, ratios to the peers) built from
// run.js's measurements, and the tables printed from them.
const suite = require('./suite');

const TORCH_LAYOUT_NAMES = { contiguous: 'nchw', channels_last: 'cl' };

function dtypesOf(layer) {
  return layer.big ? ['float32', 'float64'] : ['float32'];
}

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

module.exports = { buildRows, describePeaks, dtypesOf, printAlgorithms, printLatency, printRss, printTable };
