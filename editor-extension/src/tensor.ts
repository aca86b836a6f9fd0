/* tensor.ts: the pictures of a paused tensor: a histogram and, for attention probabilities,
 * a heatmap of one head, as inline SVG inside a script-free webview page. The data comes
 * from the adapter's custom DAP request `layerscopeTensor` (contract in README.md):
 *   arguments {expression? , variablesReference?, frameId?, kind: "histogram"|"heatmap",
 *              bins?, head?}
 *   body      {shape, histogram: {lo, hi, counts}}   or   {shape, heatmap: {rows, cols, values}}
 * values are row-major [rows, cols]. Pure, no `vscode` import; replies are validated so a
 * malformed one gives a message naming the field. */
import { esc, page } from './html';
import { formatShape, Dim } from './modelTree';

export type TensorKind = 'histogram' | 'heatmap';

export interface TensorRequestArgs {
  expression?: string;
  variablesReference?: number;
  frameId?: number;
  kind: TensorKind;
  bins?: number;
  head?: number;
}

export interface Histogram { lo: number; hi: number; counts: number[] }
/* values: [rows, cols]; null for a cell without a finite value */
export interface Heatmap { rows: number; cols: number; values: (number | null)[] }

export interface TensorReply {
  shape: Dim[];
  histogram?: Histogram;
  heatmap?: Heatmap;
  /* heatmaps: the matrix read ([rows, cols] before block-averaging) and the block size */
  source?: number[];
  block?: number[];
  downsampled?: boolean;
}

export const MAX_HEATMAP_CELLS = 512 * 512;

export function validateTensorReply(v: unknown, kind: TensorKind): TensorReply {
  if (typeof v !== 'object' || v === null) throw new Error('layerscopeTensor: reply body is not an object');
  const r = v as Record<string, unknown>;
  const shape = Array.isArray(r.shape) ? (r.shape as Dim[]) : [];
  if (kind === 'histogram') {
    const h = r.histogram as Record<string, unknown> | undefined;
    if (!h || typeof h !== 'object') throw new Error('layerscopeTensor: reply has no "histogram"');
    if (typeof h.lo !== 'number' || typeof h.hi !== 'number') throw new Error('layerscopeTensor: histogram.lo/hi are not numbers');
    if (!Array.isArray(h.counts) || h.counts.length === 0) throw new Error('layerscopeTensor: histogram.counts is empty');
    if (h.counts.some((c) => typeof c !== 'number' || c < 0 || !Number.isFinite(c)))
      throw new Error('layerscopeTensor: histogram.counts holds a value that is not a count');
    return { shape, histogram: { lo: h.lo, hi: h.hi, counts: h.counts as number[] } };
  }
  const m = r.heatmap as Record<string, unknown> | undefined;
  if (!m || typeof m !== 'object') throw new Error('layerscopeTensor: reply has no "heatmap"');
  const rows = m.rows, cols = m.cols;
  if (typeof rows !== 'number' || typeof cols !== 'number' || !Number.isInteger(rows) || !Number.isInteger(cols) ||
      rows < 1 || cols < 1) throw new Error('layerscopeTensor: heatmap.rows/cols are not positive integers');
  if (rows * cols > MAX_HEATMAP_CELLS) throw new Error(`layerscopeTensor: heatmap of ${rows}x${cols} is larger than ${MAX_HEATMAP_CELLS} cells`);
  if (!Array.isArray(m.values) || m.values.length !== rows * cols)
    throw new Error(`layerscopeTensor: heatmap.values has ${Array.isArray(m.values) ? m.values.length : 'no'} entries, expected ${rows}x${cols}`);
  if (m.values.some((x) => x !== null && typeof x !== 'number'))
    throw new Error('layerscopeTensor: heatmap.values holds a value that is neither a number nor null');
  const pair = (x: unknown): number[] | undefined =>
    Array.isArray(x) && x.length === 2 && x.every((n) => Number.isInteger(n) && n >= 1) ? (x as number[]) : undefined;
  return { shape, heatmap: { rows, cols, values: m.values as (number | null)[] }, source: pair(r.source), block: pair(r.block),
    downsampled: r.downsampled === true };
}

/* Fallback for adapters without `layerscopeTensor`: the expression language's `hist(x, n)`
 * evaluated in the REPL prints one line per bin, `[lo, hi) count ###` (the last bin closed
 * with `]`). The bins are equal-width, so lo of the first and hi of the last line give the
 * range. */
export function parseHistogramText(text: string): Histogram {
  const num = '([-+]?(?:\\d+\\.?\\d*(?:[eE][-+]?\\d+)?|\\.\\d+(?:[eE][-+]?\\d+)?|inf|nan))';
  const re = new RegExp(`\\[\\s*${num},\\s*${num}\\s*[)\\]]\\s+(\\d+)`, 'g');
  const counts: number[] = [];
  let lo = NaN, hi = NaN;
  for (const m of text.matchAll(re)) {
    if (counts.length === 0) lo = Number(m[1]);
    hi = Number(m[2]);
    counts.push(Number(m[3]));
  }
  if (counts.length === 0) throw new Error(`no histogram bins in the evaluate result: ${text.slice(0, 80)}`);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error('histogram range is not finite');
  return { lo, hi, counts };
}

/* "f32[1,8,64] μ=..." (a Variables line) -> [1, 8, 64]; [] when there is none. */
export function shapeFromValue(value: string | undefined): Dim[] {
  const m = /^\s*\w+\[([\d,\s]*)\]/.exec(value ?? '');
  if (!m) return [];
  return m[1].split(',').filter((x) => x.trim() !== '').map((x) => Number(x));
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(3) : Number(x.toPrecision(4)).toString();
}

export function histogramSvg(h: Histogram, width = 640, height = 240): string {
  const n = h.counts.length;
  const max = Math.max(1, ...h.counts);
  const padL = 50, padB = 30, w = width - padL - 10, ht = height - padB - 10;
  const bw = w / n;
  const bars = h.counts.map((c, i) => {
    const bh = (c / max) * ht;
    const x0 = padL + i * bw, x1 = x0 + bw;
    const lo = h.lo + ((h.hi - h.lo) * i) / n, hi = h.lo + ((h.hi - h.lo) * (i + 1)) / n;
    return `<rect class="bin" x="${x0.toFixed(2)}" y="${(10 + ht - bh).toFixed(2)}" width="${Math.max(0.5, x1 - x0 - 1).toFixed(2)}" ` +
      `height="${bh.toFixed(2)}" fill="var(--vscode-charts-blue, #3794ff)"><title>[${fmt(lo)}, ${fmt(hi)}): ${c}</title></rect>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="histogram">` +
    `<line x1="${padL}" y1="${10 + ht}" x2="${padL + w}" y2="${10 + ht}" stroke="currentColor" stroke-opacity="0.4"/>` +
    bars +
    `<text x="${padL}" y="${height - 8}">${esc(fmt(h.lo))}</text>` +
    `<text x="${padL + w}" y="${height - 8}" text-anchor="end">${esc(fmt(h.hi))}</text>` +
    `<text x="${padL - 6}" y="20" text-anchor="end">${max}</text>` +
    `<text x="${padL - 6}" y="${10 + ht}" text-anchor="end">0</text></svg>`;
}

/* Sequential colour ramp (dark -> bright) over [min, max] of the values. */
export function heatColor(t: number): string {
  const c = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0));
  const r = Math.round(68 + c * (253 - 68)), g = Math.round(1 + c * (231 - 1)), b = Math.round(84 + c * (37 - 84));
  return `rgb(${r},${g},${b})`;
}

export function heatmapSvg(m: Heatmap, maxSide = 480): string {
  let lo = Infinity, hi = -Infinity;
  for (const v of m.values) if (typeof v === 'number' && Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (lo === Infinity) { lo = 0; hi = 1; }
  const span = hi > lo ? hi - lo : 1;
  const cell = Math.max(1, Math.floor(maxSide / Math.max(m.rows, m.cols)));
  const cells: string[] = [];
  for (let r = 0; r < m.rows; r++)
    for (let c = 0; c < m.cols; c++) {
      const v = m.values[r * m.cols + c];
      // a cell without any finite value (NaN/Inf only) is grey, not a colour of the ramp
      const fill = typeof v === 'number' && Number.isFinite(v) ? heatColor((v - lo) / span) : 'rgb(128,128,128)';
      cells.push(`<rect x="${c * cell}" y="${r * cell}" width="${cell}" height="${cell}" fill="${fill}"><title>[${r}, ${c}] ${typeof v === 'number' ? fmt(v) : 'no finite value'}</title></rect>`);
    }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${m.cols * cell}" height="${m.rows * cell}" role="img" aria-label="heatmap" shape-rendering="crispEdges">${cells.join('')}</svg>` +
    `<p class="muted">rows: queries, columns: keys; colour from ${esc(fmt(lo))} (dark) to ${esc(fmt(hi))} (bright)</p>`;
}

export function tensorHtml(what: string, kind: TensorKind, r: TensorReply, head?: number, cspSource = ''): string {
  const title = `${what} ${kind === 'heatmap' ? `head ${head ?? 0}` : 'histogram'}`;
  let body = `<h1>${esc(what)} <span class="muted">${esc(formatShape(r.shape))}</span></h1>`;
  if (kind === 'histogram' && r.histogram) {
    const total = r.histogram.counts.reduce((a, b) => a + b, 0);
    body += `<h2>Histogram (${r.histogram.counts.length} bins, ${total.toLocaleString('en-US')} finite values)</h2>` + histogramSvg(r.histogram);
  } else if (r.heatmap) {
    body += `<h2>Attention, head ${esc(head ?? 0)} (${r.heatmap.rows} x ${r.heatmap.cols})</h2>`;
    if (r.downsampled && r.source && r.block)
      body += `<p class="muted">block-averaged from ${r.source[0]} x ${r.source[1]} in ${r.block[0]} x ${r.block[1]} blocks</p>`;
    body += heatmapSvg(r.heatmap);
  }
  return page(title, body, cspSource);
}
