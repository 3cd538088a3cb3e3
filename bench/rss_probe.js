'use strict';
// Peak RSS (VmHWM) of one convkit forward call on the N=64 56x56 3x3 layer, in a fresh
// process of its own (a process's peak RSS never goes down).
//   node bench/rss_probe.js '{"layout": "NHWC", "threads": 2}'   prints JSON

const fs = require('fs');
const convkit = require('..');
const { RSS_LAYER, outputSize } = require('./suite');

function randomArray(length) {
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) data[i] = Math.random() - 0.5;
  return data;
}

// Peak RSS of this process's address space (VmHWM). Not resourceUsage().maxRSS:
// Linux carries the parent's peak over fork + exec into a child's maxrss, so a
// probe started from a big bench process would report the bench's own peak.
function peakRssKiB() {
  return Number(/^VmHWM:\s*(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
}

function main() {
  const { layout, threads } = JSON.parse(process.argv[2]);
  const {
    n,
    c,
    h,
    w,
    cout,
    kernel: [kh, kw],
    stride,
    pad,
  } = RSS_LAYER;
  const xData = randomArray(n * c * h * w);
  const wData = randomArray(kh * kw * c * cout);
  const bias = randomArray(cout);
  // Everything convkit allocates from here on (thread pool, tensors, workspaces) counts.
  const baselineKiB = peakRssKiB();
  convkit.setNumThreads(threads);
  const x = convkit.tensor(xData, layout === 'NHWC' ? [n, h, w, c] : [n, c, h, w], { layout });
  const weights = convkit.tensor(wData, layout === 'NHWC' ? [kh, kw, c, cout] : [cout, c, kh, kw], { layout });
  const y = convkit.conv2d(x, weights, bias, { layout, stride, padding: pad });
  const peakKiB = peakRssKiB();
  const [oh, ow] = outputSize(RSS_LAYER);
  if (y.data.length !== n * cout * oh * ow) throw new Error(`unexpected output length ${y.data.length}`);
  process.stdout.write(
    JSON.stringify({
      layout,
      threads,
      baselineKiB,
      peakKiB,
      inputBytes: x.data.byteLength + weights.data.byteLength + bias.byteLength,
      outputBytes: y.data.byteLength,
    }) + '\n',
  );
}

main();
