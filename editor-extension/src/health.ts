/* health.ts: the Training Health view. Renders the output of `layerscope report RUN.db
 * --format json` (schema layerscope.health/1, docs/health.md) as the same pictures as
 * `layerscope report --html`: the findings, then heatmaps of layers x sampled steps for the
 * loss, the gradient norms and the update ratios (log colour scale) and the dead-unit
 * fractions (0 to 1). healthView turns the report into a view model (rows of coloured cells
 * with their values) that the unit tests check; healthHtml draws it as static inline SVG.
 * Also which record to show: the one picked, else the live debug session's, else the
 * `layerscope.runRecord` setting. Pure, no `vscode` import. */
import * as path from 'path';
import { esc, page, parseVersioned } from './html';

type Num = number | null;

export interface HealthFinding {
  kind: string; module: number | null; name: string | null; step: number; rank: number;
  value: Num; baseline: Num; message: string;
}

export interface Health {
  schema: string; record: string; run_id: number; n_ranks: number;
  steps: number[]; loss: Num[]; grad_norm: Num[];
  layers: { name: string; module: number; grad_norm: Num[]; update_ratio: Num[] }[];
  outputs: { name: string; dead: Num[] }[];
  findings: HealthFinding[];
}

export function parseHealth(text: string): Health {
  const h = parseVersioned(text, 'health report', 'layerscope.health/1');
  if (!Array.isArray(h.steps) || !Array.isArray(h.layers) || !Array.isArray(h.outputs) || !Array.isArray(h.findings))
    throw new Error('health report: "steps", "layers", "outputs" or "findings" is missing');
  return h as unknown as Health;
}

/* `layerscope report` arguments. The view follows the file as a program writes it, so the
 * report leaves it alone (--no-store): a write would race the program's and, changing the
 * file, trigger the next refresh itself. */
export function healthArgs(db: string): string[] {
  return ['report', db, '--format', 'json', '--no-store'];
}

/* The record to show: the one picked (a .db in the explorer), else the record of the live
 * layerscope debug session (its launch configuration's `record`, relative to its folder),
 * else the `layerscope.runRecord` setting. live: a debug session is writing it. */
export function healthRecord(picked: string | undefined, session: { record?: unknown; cwd?: unknown; folder?: string } | undefined,
  setting: string | undefined): { db?: string; live: boolean } {
  if (picked) return { db: picked, live: false };
  if (session && typeof session.record === 'string' && session.record) {
    const base = typeof session.cwd === 'string' && session.cwd ? session.cwd : session.folder ?? '';
    return { db: path.resolve(base, session.record), live: true };
  }
  if (setting) return { db: setting, live: false };
  return { live: false };
}

/* ---------------------------------------------------------------- the view model */

export interface Cell { value: Num; colour: string }
export interface Grid {
  title: string; what: string; log: boolean;
  lo: number | null; hi: number | null; /* the colour scale's ends (values, not logs); null: no values */
  rows: { name: string; cells: Cell[] }[];
}
export interface HealthView {
  title: string; summary: string; steps: number[];
  findings: { kind: string; step: number; name: string; message: string }[];
  grids: Grid[];
}

const GREY = '#888';
const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

/* A colour for t in [0, 1], dark blue -> teal -> yellow (close to viridis), as report.c. */
export function colour(t: number): string {
  if (!Number.isFinite(t)) return GREY;
  const x = Math.min(1, Math.max(0, t)) * 4;
  const i = x >= 4 ? 3 : Math.floor(x);
  const u = x - i;
  const c = [0, 1, 2].map((k) => Math.trunc(STOPS[i][k] + u * (STOPS[i + 1][k] - STOPS[i][k])));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/* One heatmap: log scale over the rows' positive values, or linear on [0, 1]. Missing and
 * (on a log scale) non-positive values are grey: not sampled. */
export function grid(title: string, what: string, rows: { name: string; values: Num[] }[], log: boolean): Grid {
  let lo = Infinity, hi = -Infinity;
  for (const r of rows) for (const v of r.values) {
    const x = v === null ? NaN : log ? (v > 0 ? Math.log10(v) : NaN) : v;
    if (Number.isFinite(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  }
  const any = Number.isFinite(lo);
  if (!log) { lo = 0; hi = 1; }
  const t = (v: Num): number => {
    if (v === null) return NaN;
    if (!log) return v;
    if (!(v > 0)) return NaN;
    return hi > lo ? (Math.log10(v) - lo) / (hi - lo) : 0.5;
  };
  return {
    title, what, log,
    lo: any ? (log ? 10 ** lo : lo) : null, hi: any ? (log ? 10 ** hi : hi) : null,
    rows: rows.map((r) => ({ name: r.name, cells: r.values.map((v) => ({ value: v, colour: colour(t(v)) })) })),
  };
}

export function healthView(h: Health): HealthView {
  const n = h.steps.length;
  return {
    title: `Training health of ${path.basename(h.record)}, run ${h.run_id}`,
    summary: `${n} sampled step${n === 1 ? '' : 's'}, ${h.layers.length} layers with parameters, ${h.n_ranks} rank${h.n_ranks === 1 ? '' : 's'}`,
    steps: h.steps,
    findings: h.findings.map((f) => ({ kind: f.kind, step: f.step, name: f.name ?? '', message: f.message })),
    grids: [
      grid('Loss', "the step's loss (mean over ranks)", [{ name: 'loss', values: h.loss }], true),
      grid('Gradient norm', "per layer: the L2 norm of its parameters' gradients before clipping",
        h.layers.map((l) => ({ name: l.name, values: l.grad_norm })), true),
      grid('Update ratio', 'per layer: ||W_after - W_before|| / ||W_before|| at optimizer.step()',
        h.layers.map((l) => ({ name: l.name, values: l.update_ratio })), true),
      grid('Dead units', 'per module output: the fraction of units zero for the whole step',
        h.outputs.map((o) => ({ name: o.name, values: o.dead })), false),
    ],
  };
}

/* ---------------------------------------------------------------- HTML */

const CW = 14, CH = 14, LABEL = 220;
const g4 = (x: number) => Number(x.toPrecision(4)).toString();

function gridSvg(g: Grid, steps: number[]): string {
  const ns = steps.length;
  const scale = g.lo === null || g.hi === null ? 'no values'
    : `${g4(g.lo)} (dark) to ${g4(g.hi)} (yellow)${g.log ? ', log scale' : ''}`;
  const every = ns > 40 ? Math.floor(ns / 20) : ns > 10 ? 5 : 1;
  const ticks = steps.map((s, k) => (k % every === 0 ? `<text x="${LABEL + k * CW}" y="14">${s}</text>` : '')).join('');
  const rows = g.rows.map((r, i) => {
    const y = 20 + i * CH;
    const cells = r.cells.map((c, k) => `<rect x="${LABEL + k * CW}" y="${y}" width="${CW - 1}" height="${CH - 1}" fill="${c.colour}">` +
      `<title>${esc(r.name)}, step ${steps[k]}: ${c.value === null ? 'not sampled' : g4(c.value)}</title></rect>`).join('');
    return `<text x="${LABEL - 6}" y="${y + 11}" text-anchor="end">${esc(r.name)}</text>${cells}`;
  }).join('\n');
  return `<h2>${esc(g.title)}</h2>\n<p class="muted">${esc(g.what)}; colour: ${esc(scale)}; grey: not sampled</p>\n` +
    `<svg class="heat" xmlns="http://www.w3.org/2000/svg" width="${LABEL + ns * CW + 10}" height="${20 + g.rows.length * CH + 10}">` +
    `${ticks}\n${rows}</svg>`;
}

/* status: a line under the title (live: when it was last read). */
export function healthHtml(v: HealthView, status = '', cspSource = ''): string {
  const findings = v.findings.length
    ? `<ul class="findings">${v.findings.map((f) => `<li data-kind="${esc(f.kind)}">${esc(f.message)}</li>`).join('')}</ul>`
    : '<p class="none">none</p>';
  const body = `<h1>${esc(v.title)}</h1>
<p>${esc(v.summary)}.${status ? ` <span class="muted" id="status">${esc(status)}</span>` : ''}</p>
<style>svg.heat text { font: 11px monospace; } ul.findings li { font-family: monospace; margin: 2px 0; }
.heatbox { overflow-x: auto; } .none { color: var(--vscode-charts-green, #2a7); }</style>
<h2>Findings (${v.findings.length})</h2>
${findings}
<div class="heatbox">
${v.grids.map((g) => gridSvg(g, v.steps)).join('\n')}
</div>`;
  return page(v.title, body, cspSource);
}

/* The page while there is nothing to draw yet (a live run before its first sampled step) or
 * the report failed. */
export function healthWaitingHtml(db: string, message: string, cspSource = ''): string {
  return page('Training health', `<h1>Training health of ${esc(path.basename(db))}</h1>\n<p class="muted" id="status">${esc(message)}</p>`, cspSource);
}
