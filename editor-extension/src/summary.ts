/* summary.ts: renders the output of `layerscope summary CONFIG --format json` (contract:
 * docs/summary-json.md, schema layerscope.summary/1) as the HTML of the Model Summary
 * webview: headline figures, then every module in tree order with its type, output shape,
 * parameter count and its share of the model's parameters drawn as a bar. Pure, no `vscode`
 * import. Sizes above 2^53 would lose precision in JSON.parse; parameter counts and byte
 * sizes of real models stay far below it (1e15), so plain numbers are used. */
import { esc, page, parseVersioned } from './html';
import { formatCount, formatShape, Dim } from './modelTree';

export interface SummaryModule {
  name: string;
  type: string;
  kind?: string;
  depth: number;
  params: number;
  output_shape?: Dim[];
  output_shape_bound?: Dim[];
}

export interface Summary {
  schema: string;
  model_type: string;
  architecture: string;
  batch: number;
  seq: number;
  dtype: string;
  params: number;
  params_active?: number;
  flops_per_token?: number;
  memory?: { weights?: Record<string, number>; kv_cache?: number; kv_cache_per_token?: number;
             training?: Record<string, number> };
  issues?: { severity: string; code: string; message: string }[];
  modules: SummaryModule[];
}

export function parseSummary(text: string): Summary {
  const s = parseVersioned(text, 'summary', 'layerscope.summary/1');
  if (typeof s.params !== 'number') throw new Error('summary: "params" is missing');
  if (!Array.isArray(s.modules)) throw new Error('summary: "modules" is not an array');
  return s as unknown as Summary;
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '?';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = n, i = 0;
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return (i === 0 ? String(x) : x.toFixed(2)) + ' ' + u[i];
}

/* Share of the total parameter count, in percent; 0 for an empty model. */
export function paramShare(params: number, total: number): number {
  return total > 0 ? (100 * params) / total : 0;
}

export function summaryHtml(s: Summary, title: string, cspSource = ''): string {
  const total = s.params;
  const rows = s.modules.map((m) => {
    const share = paramShare(m.params, total);
    const indent = '&nbsp;'.repeat(2 * Math.max(0, Math.min(m.depth, 20)));
    // The bar comes right after the name so it stays in view in a narrow side panel.
    return `<tr><td>${indent}${esc(m.name === '' ? '(root)' : m.name)}</td>` +
      `<td class="barcell"><span class="bar" style="width:${Math.min(100, share).toFixed(2)}%"></span></td>` +
      `<td class="num">${share.toFixed(2)}%</td>` +
      `<td class="num">${esc(m.params.toLocaleString('en-US'))}</td>` +
      `<td>${esc(m.type)}</td><td>${esc(formatShape(m.output_shape))}</td></tr>`;
  }).join('\n');
  const w = s.memory?.weights ?? {};
  const weights = Object.keys(w).map((k) => `${esc(k)} ${esc(formatBytes(w[k]))}`).join(', ');
  const issues = (s.issues ?? []).map((i) =>
    `<li class="${i.severity === 'error' ? 'err' : ''}">${esc(i.severity)} [${esc(i.code)}]: ${esc(i.message)}</li>`).join('');
  const body = `<h1>${esc(s.architecture)} <span class="muted">(${esc(s.model_type)})</span></h1>
<table class="figures">
<tr><th>parameters</th><td class="num" id="params">${esc(total.toLocaleString('en-US'))}</td><td class="muted">${esc(formatCount(total))}</td></tr>
${s.params_active !== undefined && s.params_active !== total ? `<tr><th>active per token</th><td class="num">${esc(s.params_active.toLocaleString('en-US'))}</td><td class="muted">${esc(formatCount(s.params_active))}</td></tr>` : ''}
<tr><th>forward FLOPs / token</th><td class="num">${esc((s.flops_per_token ?? 0).toLocaleString('en-US'))}</td><td class="muted">${esc(formatCount(s.flops_per_token ?? 0))}</td></tr>
<tr><th>weights</th><td colspan="2">${weights}</td></tr>
<tr><th>KV cache</th><td class="num">${esc(formatBytes(s.memory?.kv_cache))}</td><td class="muted">B=${esc(s.batch)}, S=${esc(s.seq)}, ${esc(s.dtype)}</td></tr>
</table>
${issues ? `<h2>Issues</h2><ul>${issues}</ul>` : ''}
<h2>Modules: parameter share</h2>
<table class="modules">
<tr><th>module</th><th>parameter share</th><th class="num">share</th><th class="num">params</th><th>type</th><th>output</th></tr>
${rows}
</table>`;
  return page(title, body, cspSource);
}
