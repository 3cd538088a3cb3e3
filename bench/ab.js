#!/usr/bin/env node
// A/B of two builds of convkit on this machine: runs each checkout's own bench/run.js (convkit
// only) in alternating processes, A B B A A B ..., so that the VM's drift hits both alike, then
// prints per row the median over the rounds of each run's median, the best layout of each build,
// and B / A. Both checkouts must be built (addon and dist/).
//
//   node bench/ab.js --a ../old --b . [--rounds 6] [--out FILE.json] -- --only conv3x3_c64_56 --threads 1,2
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { GLIBC_TUNABLES } = require('./tunables');

function usage(message) {
  if (message) console.error(`bench/ab.js: ${message}`);
  console.error('usage: node bench/ab.js --a DIR --b DIR [--rounds N] [--out FILE] -- [bench/run.js options]');
  process.exit(2);
}

function parse() {
  const split = process.argv.indexOf('--');
  const own = split < 0 ? process.argv.slice(2) : process.argv.slice(2, split);
  const benchArgs = split < 0 ? [] : process.argv.slice(split + 1);
  let values;
  try {
    ({ values } = parseArgs({
      args: own,
      options: { a: { type: 'string' }, b: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' } },
    }));
  } catch (err) {
    usage(err.message);
  }
  if (!values.a || !values.b) usage('--a and --b are required');
  const rounds = values.rounds === undefined ? 6 : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 100) usage(`--rounds must be an integer in 1..100, got ${values.rounds}`);
  for (const dir of [values.a, values.b]) {
    if (!fs.existsSync(path.join(dir, 'bench', 'run.js'))) usage(`${dir} has no bench/run.js`);
  }
  return { a: path.resolve(values.a), b: path.resolve(values.b), rounds, out: values.out, benchArgs };
}

// One bench process of one build; returns its JSON report.
function runOnce(dir, benchArgs, scratch) {
  const file = path.join(scratch, `run-${process.hrtime.bigint()}.json`);
  const result = spawnSync(process.execPath, [path.join(dir, 'bench', 'run.js'), '--no-peers', ...benchArgs, '--json', file], {
    cwd: dir,
    env: { ...process.env, GLIBC_TUNABLES },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`bench/run.js in ${dir} exited with ${result.status ?? result.signal}`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// key without layout -> layout -> list of per-run medians (ns).
function collect(reports) {
  const rows = new Map();
  const add = (key, layout, ns) => {
    if (!rows.has(key)) rows.set(key, new Map());
    const byLayout = rows.get(key);
    if (!byLayout.has(layout)) byLayout.set(layout, []);
    byLayout.get(layout).push(ns);
  };
  for (const report of reports) {
    for (const r of report.convkit.results ?? []) {
      if (r.medianNs !== undefined) add(`${r.layer}|${r.dtype}|${r.pass}|${r.threads}`, r.layout, r.medianNs);
    }
    for (const r of report.convkit.latency ?? []) {
      if (r.medianNs !== undefined) add(`tiny call latency|float32|fwd|${r.threads}`, r.layout, r.medianNs);
    }
  }
  // The best layout's median of medians.
  const best = new Map();
  for (const [key, byLayout] of rows) best.set(key, Math.min(...[...byLayout.values()].map(median)));
  return best;
}

function format(ms) {
  return ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toPrecision(4) : ms.toPrecision(3);
}

function main() {
  const options = parse();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'convkit-ab-'));
  const reports = { a: [], b: [] };
  for (let round = 0; round < options.rounds; ++round) {
    const order = round % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
    for (const which of order) {
      process.stderr.write(`round ${round + 1}/${options.rounds}: ${which.toUpperCase()}\n`);
      reports[which].push(runOnce(options[which], options.benchArgs, scratch));
    }
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  const a = collect(reports.a),
    b = collect(reports.b);
  const lines = [
    `A: ${options.a}\nB: ${options.b}\n${options.rounds} alternating rounds, best layout, median of the runs' medians`,
    '',
    '| layer | dtype | pass | T | A ms | B ms | B / A |',
    '|---|---|---|---|---|---|---|',
  ];
  const summary = [];
  for (const key of [...a.keys()].sort()) {
    if (!b.has(key)) continue;
    const [layer, dtype, pass, threads] = key.split('|');
    const msA = a.get(key) / 1e6,
      msB = b.get(key) / 1e6;
    lines.push(`| ${layer} | ${dtype} | ${pass} | ${threads} | ${format(msA)} | ${format(msB)} | ${(msB / msA).toFixed(2)} |`);
    summary.push({ layer, dtype, pass, threads: Number(threads), msA, msB, ratio: msB / msA });
  }
  console.log(lines.join('\n'));
  if (options.out) fs.writeFileSync(options.out, JSON.stringify({ a: options.a, b: options.b, rounds: options.rounds, rows: summary }, null, 1) + '\n');
}

main();
