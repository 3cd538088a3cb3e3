// `convkit bench`: the benchmark of bench/run.js (which does all the measuring), plus --svg for a
// bar chart of every convkit figure against the machine's peak, drawn from its --json report.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConvkitError } from '#lib';
import { checkWritableFile } from '#lib/files';
import { barChart, Bar } from '../plot/svg';
import { UsageError } from './args';

// The package root is three folders above this file's compiled place, dist/app/cli/.
const RUNNER = path.resolve(__dirname, '..', '..', '..', 'bench', 'run.js');

const BENCH_USAGE = `usage: convkit bench [--svg FILE] [options of bench/run.js]

Runs the benchmark suite (bench/run.js) and prints its table.
  --svg FILE          also draw convkit's GFLOP/s (GB/s for pools) against the machine's peak
                      as a bar chart in FILE
All other options go to bench/run.js:`;

/** A report row of bench/run.js --json, as far as the chart reads it. */
interface ReportRow {
  layer: string;
  pass: string;
  dtype: string;
  threads: number;
  peak: number | null;
  convkit: { rate: number; unit: string } | null;
}

/** Removes `--svg FILE` / `--svg=FILE` from args; returns the file and the rest. */
function takeSvgFlag(args: string[]): { svgFile: string | null; rest: string[] } {
  const rest: string[] = [];
  let svgFile: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--svg') {
      if (i + 1 >= args.length || args[i + 1].startsWith('-')) throw new UsageError("option '--svg FILE' needs a file name");
      svgFile = args[++i];
    } else if (arg.startsWith('--svg=')) {
      svgFile = arg.slice('--svg='.length);
      if (!svgFile) throw new UsageError("option '--svg FILE' needs a file name");
    } else {
      rest.push(arg);
    }
  }
  return { svgFile, rest };
}

/** The value of --json in bench arguments, if given. */
function jsonFlag(args: string[]): string | null {
  const index = args.indexOf('--json');
  if (index >= 0 && index + 1 < args.length) return args[index + 1];
  const inline = args.find((arg) => arg.startsWith('--json='));
  return inline ? inline.slice('--json='.length) : null;
}

export function runBench(args: string[]): number {
  if (!fs.existsSync(RUNNER)) {
    console.error(`convkit bench: ${RUNNER} is missing; the benchmark ships with the convkit repository, not with the installed package`);
    return 1;
  }
  const { svgFile, rest } = takeSvgFlag(args);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(BENCH_USAGE);
    return spawnSync(process.execPath, [RUNNER, '--help'], { stdio: 'inherit' }).status ?? 1;
  }
  let jsonFile = jsonFlag(rest);
  // The run takes minutes: a report that cannot be written must fail now, not after it.
  try {
    if (jsonFile !== null) checkWritableFile('--json', jsonFile);
    if (svgFile !== null) checkWritableFile('--svg', svgFile);
  } catch (error) {
    if (error instanceof ConvkitError) throw new UsageError(error.message, false);
    throw error;
  }
  let temporary: string | null = null;
  if (svgFile !== null && jsonFile === null) {
    temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'convkit-bench-'));
    jsonFile = path.join(temporary, 'report.json');
    rest.push('--json', jsonFile);
  }
  try {
    const child = spawnSync(process.execPath, [RUNNER, ...rest], { stdio: 'inherit' });
    if (child.status !== 0 || svgFile === null || jsonFile === null) return child.status ?? 1;
    const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { rows: ReportRow[]; machine?: { cpu?: string } };
    fs.writeFileSync(svgFile, benchChart(report.rows, report.machine?.cpu));
    console.log(`bar chart written to ${svgFile}`);
    return 0;
  } finally {
    if (temporary !== null) fs.rmSync(temporary, { recursive: true, force: true });
  }
}

function benchChart(rows: ReportRow[], cpu: string | undefined): string {
  const bars: Bar[] = rows
    .filter((row) => row.convkit !== null)
    .map((row) => ({
      label: `${row.layer} ${row.pass} ${row.dtype} ${row.threads}T (${row.convkit!.unit})`,
      value: row.convkit!.rate,
      limit: row.peak,
    }));
  return barChart(`convkit against the machine's peak${cpu ? ` (${cpu})` : ''}`, 'convkit', bars);
}
