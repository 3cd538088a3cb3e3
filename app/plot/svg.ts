// Minimal SVG charts (no dependencies): line charts for learning curves, bars for benchmarks.

export interface Series {
  name: string;
  color: string;
  /** [x, y] points. */
  points: [number, number][];
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Fixed y range; default: the data's range. */
  yRange?: [number, number];
}

const PANEL = { width: 460, height: 320, left: 64, right: 16, top: 36, bottom: 48 };

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** About five round tick values covering [low, high]. */
function ticks(low: number, high: number): number[] {
  const span = high - low || Math.abs(high) || 1;
  const step = 10 ** Math.floor(Math.log10(span / 5));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 6) ?? 10 * step;
  const values: number[] = [];
  for (let v = Math.ceil(low / nice) * nice; v <= high + nice * 1e-9; v += nice) values.push(Number(v.toPrecision(12)));
  return values;
}

function format(value: number): string {
  return Math.abs(value) >= 1000 ? value.toFixed(0) : String(Number(value.toPrecision(4)));
}

/** One chart panel at (x0, y0) as an SVG group. */
function linePanel(chart: LineChart, x0: number, y0: number): string {
  const { width, height, left, right, top, bottom } = PANEL;
  const points = chart.series.flatMap((s) => s.points);
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const [yMin, yMax] = chart.yRange ?? [Math.min(...ys), Math.max(...ys)];
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const px = (x: number): number => left + ((x - xMin) / (xMax - xMin || 1)) * plotWidth;
  const py = (y: number): number => top + plotHeight - ((y - yMin) / (yMax - yMin || 1)) * plotHeight;
  const parts: string[] = [`<g transform="translate(${x0},${y0})">`];
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`);
  for (const tick of ticks(yMin, yMax)) {
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${py(tick).toFixed(1)}" y2="${py(tick).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${(py(tick) + 4).toFixed(1)}" text-anchor="end" font-size="11">${format(tick)}</text>`);
  }
  for (const tick of ticks(xMin, xMax).filter((t) => Number.isInteger(t))) {
    parts.push(`<text x="${px(tick).toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle" font-size="11">${format(tick)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${left + plotWidth / 2}" y="${height - 10}" text-anchor="middle" font-size="12">${escapeXml(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(16,${top + plotHeight / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(chart.yLabel)}</text>`);
  chart.series.forEach((series, index) => {
    const path = series.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"/>`);
    for (const [x, y] of series.points) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${series.color}"/>`);
    // The legend sits in the bottom margin, right-aligned, where no curve can run under it.
    const legendX = width - right - 64 * (chart.series.length - index);
    const legendY = height - 10;
    parts.push(`<line x1="${legendX}" x2="${legendX + 18}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${series.color}" stroke-width="2"/>`);
    parts.push(`<text x="${legendX + 24}" y="${legendY}" font-size="11">${escapeXml(series.name)}</text>`);
  });
  parts.push('</g>');
  return parts.join('\n');
}

/** Line charts side by side in one SVG document. */
export function lineCharts(charts: LineChart[]): string {
  const width = PANEL.width * charts.length;
  const body = charts.map((chart, index) => linePanel(chart, index * PANEL.width, 0)).join('\n');
  return svgDocument(width, PANEL.height, body);
}

export interface Bar {
  label: string;
  value: number;
  /** The bar's ceiling (e.g. the machine's peak), drawn as a grey bar behind it; null for none. */
  limit: number | null;
}

/** Horizontal bars with their labels, values and, behind each, its limit. */
export function barChart(title: string, unit: string, bars: Bar[]): string {
  const rowHeight = 22;
  const labelWidth = Math.min(420, 12 + 6.5 * Math.max(...bars.map((b) => b.label.length), 10));
  const plotWidth = 520;
  const top = 40;
  const height = top + bars.length * rowHeight + 40;
  const width = labelWidth + plotWidth + 120;
  const max = Math.max(...bars.map((b) => Math.max(b.value, b.limit ?? 0)), 1e-9);
  const scale = (value: number): number => (value / max) * plotWidth;
  const parts: string[] = [`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`];
  bars.forEach((bar, index) => {
    const y = top + index * rowHeight;
    parts.push(`<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end" font-size="11">${escapeXml(bar.label)}</text>`);
    if (bar.limit !== null) parts.push(`<rect x="${labelWidth}" y="${y + 3}" width="${scale(bar.limit).toFixed(1)}" height="16" fill="#e3e3e3"/>`);
    parts.push(`<rect x="${labelWidth}" y="${y + 3}" width="${scale(bar.value).toFixed(1)}" height="16" fill="#3b7dd8"/>`);
    const percent = bar.limit ? ` (${Math.round((100 * bar.value) / bar.limit)}%)` : '';
    parts.push(`<text x="${labelWidth + scale(Math.max(bar.value, bar.limit ?? 0)) + 6}" y="${y + 15}" font-size="11">${format(bar.value)}${percent}</text>`);
  });
  const legendY = height - 14;
  parts.push(
    `<rect x="${labelWidth}" y="${legendY - 10}" width="12" height="12" fill="#3b7dd8"/><text x="${labelWidth + 18}" y="${legendY}" font-size="11">${escapeXml(unit)}</text>`,
  );
  parts.push(
    `<rect x="${labelWidth + 160}" y="${legendY - 10}" width="12" height="12" fill="#e3e3e3"/><text x="${labelWidth + 178}" y="${legendY}" font-size="11">peak</text>`,
  );
  return svgDocument(width, height, parts.join('\n'));
}

function svgDocument(width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`
  );
}
