/* html.ts: helpers shared by the webview pages (summary, profile, tensor pictures): escaping,
 * the page frame with a Content-Security-Policy that allows no scripts at all, because every
 * picture is static HTML + inline SVG rendered here from data, and the check of the
 * versioned JSON the CLI prints for them. Pure, no `vscode` import. */

/* The JSON object a `layerscope ... --format json` printed, whose "schema" must be exactly
 * `want` (e.g. layerscope.summary/1); errors say what (`what`) went wrong. */
export function parseVersioned(text: string, what: string, want: string): Record<string, unknown> {
  let v: unknown;
  try { v = JSON.parse(text); } catch (e) { throw new Error(`${what}: output is not JSON (${(e as Error).message})`); }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what}: output is not a JSON object`);
  const o = v as Record<string, unknown>;
  const family = want.slice(0, want.lastIndexOf('/') + 1);
  if (typeof o.schema !== 'string' || !o.schema.startsWith(family))
    throw new Error(`${what}: unexpected schema ${JSON.stringify(o.schema)}`);
  if (o.schema !== want) throw new Error(`${what}: schema ${o.schema} is newer than this extension understands (${want})`);
  return o;
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) =>
    ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' } as Record<string, string>)[c]);
}

export function page(title: string, body: string, cspSource = ''): string {
  const csp = `default-src 'none'; img-src ${cspSource} data:; style-src 'unsafe-inline' ${cspSource};`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body { font-family: var(--vscode-font-family, sans-serif); font-size: var(--vscode-font-size, 13px);
       color: var(--vscode-foreground, #ccc); padding: 0 16px 16px; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 2px 10px 2px 4px; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) { background: rgba(128,128,128,0.08); }
.bar { display: inline-block; height: 0.8em; background: var(--vscode-charts-blue, #3794ff); vertical-align: middle; }
.barcell { width: 160px; min-width: 160px; }
svg.chart { max-width: 100%; height: auto; }
.muted { opacity: 0.7; }
.err { color: var(--vscode-errorForeground, #f48771); }
svg text { fill: var(--vscode-foreground, #ccc); font-size: 11px; }
</style></head><body>
${body}
</body></html>`;
}
