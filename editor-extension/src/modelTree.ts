/* modelTree.ts: turns the flat, pre-order module list of the `layerscope/modelTree` LSP
 * request into the nested tree the Model Layers view shows, and formats the labels (shape,
 * parameter count). Pure: no `vscode` import, so the unit tests run under plain node.
 *
 * Contract of the request (implemented in lsp/handlers/model_tree.c, documented in
 * docs/lsp.md): params {textDocument: {uri}} -> {model_type, architecture, params,
 * modules: [{name, type, params, output_shape, depth, line}], reading, reading_note}: reading
 * "generic" is a llama-style reading of a type layerscope does not model (the view says so
 * above the tree), "none" such a type without a tree, "inferred" a family inferred for a
 * config without model_type (reading_note says how). Modules in pre-order (parents
 * before children) with depth 0 for the root; `line` is the 0-based config line of the key
 * that configures the module, or null. The result is null for a document that is not a model
 * config. `output_shape` is a string such as "[B, S, 768]" ("" when the module has none). Nesting is rebuilt from `depth` rather than from dotted names because upstream
 * names do not always nest by prefix (the root is "", tied heads live at the top). */

export type Dim = number | string;

export interface ModuleInfo {
  name: string;
  type: string;
  params?: number;                        /* unknown for modules a running program reports */
  output_shape?: Dim[] | string | null;   /* "[B, S, 768]" from the server; arrays accepted too */
  depth: number;
  line?: number | null;
}

export type Reading = 'exact' | 'inferred' | 'generic' | 'none';

export interface ModelTreeResult {
  model_type: string;
  architecture: string;
  params: number;
  modules: ModuleInfo[];
  reading: Reading;
  reading_note: string | null;
}

export interface LayerNode {
  module: ModuleInfo;
  children: LayerNode[];
  key?: string;   /* stable id among the nodes of one tree when names may repeat (live tables) */
}

/* Checks the shape of a reply so that a malformed one gives a message naming the field
 * instead of a TypeError deep inside the view. */
export function validateModelTree(v: unknown): ModelTreeResult | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error('modelTree: result is not an object');
  const r = v as Record<string, unknown>;
  if (!Array.isArray(r.modules)) throw new Error('modelTree: result.modules is not an array');
  r.modules.forEach((m, i) => {
    if (typeof m !== 'object' || m === null) throw new Error(`modelTree: modules[${i}] is not an object`);
    const mm = m as Record<string, unknown>;
    if (typeof mm.name !== 'string') throw new Error(`modelTree: modules[${i}].name is not a string`);
    if (typeof mm.depth !== 'number' || !Number.isInteger(mm.depth) || mm.depth < 0)
      throw new Error(`modelTree: modules[${i}].depth is not a non-negative integer`);
    if (mm.output_shape !== undefined && mm.output_shape !== null && !Array.isArray(mm.output_shape) &&
        typeof mm.output_shape !== 'string')
      throw new Error(`modelTree: modules[${i}].output_shape is neither a string nor an array`);
    if (mm.params !== undefined && typeof mm.params !== 'number')
      throw new Error(`modelTree: modules[${i}].params is not a number`);
  });
  return {
    model_type: typeof r.model_type === 'string' ? r.model_type : 'unknown',
    architecture: typeof r.architecture === 'string' ? r.architecture : '',
    params: typeof r.params === 'number' ? r.params : 0,
    modules: r.modules as ModuleInfo[],
    reading: r.reading === 'inferred' || r.reading === 'generic' || r.reading === 'none' ? r.reading : 'exact',
    reading_note: typeof r.reading_note === 'string' ? r.reading_note : null,
  };
}

/* The line shown above the tree when the reading is not exact (undefined when it is): a
 * generic reading must never look like the model's own tree. */
export function readingBanner(r: ModelTreeResult): string | undefined {
  if (r.reading === 'generic') return `Generic llama-style reading, not ${r.model_type}'s modules`;
  if (r.reading === 'none') return r.reading_note ?? `${r.model_type} is not modelled by layerscope`;
  if (r.reading === 'inferred') return r.reading_note ?? `model_type inferred as ${r.model_type}`;
  return undefined;
}

/* Rebuilds the nesting from depths. A depth that jumps by more than one (should not happen)
 * attaches the module to the deepest open ancestor rather than dropping it. */
export function buildLayerTree(modules: ModuleInfo[]): LayerNode[] {
  const roots: LayerNode[] = [];
  const stack: LayerNode[] = [];
  for (const m of modules) {
    const node: LayerNode = { module: m, children: [] };
    while (stack.length > 0 && stack[stack.length - 1].module.depth >= m.depth) stack.pop();
    if (stack.length === 0) roots.push(node);
    else stack[stack.length - 1].children.push(node);
    stack.push(node);
  }
  return roots;
}

/* 124439808 -> "124.4M"; exact figures stay in the tooltip. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const a = Math.abs(n);
  if (a >= 1e12) return (n / 1e12).toFixed(2) + 'T';
  if (a >= 1e9) return (n / 1e9).toFixed(2) + 'B';
  if (a >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (a >= 1e3) return (n / 1e3).toFixed(1) + 'K';
  return String(n);
}

export function formatShape(shape: Dim[] | string | null | undefined): string {
  if (typeof shape === 'string') return shape;
  if (!shape || shape.length === 0) return '';
  return '[' + shape.map((d) => String(d)).join(', ') + ']';
}

/* The last component of a dotted module name ("model.layers.0.mlp" -> "mlp"), the numbered
 * ones kept with their list ("layers.0") so a block reads as itself. */
export function shortName(name: string): string {
  if (name === '') return '(root)';
  const parts = name.split('.');
  const last = parts[parts.length - 1];
  if (/^\d+$/.test(last) && parts.length >= 2) return parts[parts.length - 2] + '.' + last;
  return last;
}

export interface NodeLabel {
  label: string;
  description: string;
  tooltip: string;
}

export function describeNode(m: ModuleInfo, total: number): NodeLabel {
  const shape = formatShape(m.output_shape);
  const params = m.params ?? 0;
  const share = total > 0 && params > 0 ? ` (${((100 * params) / total).toFixed(1)}%)` : '';
  // The root's label is already its class name (so is a second root's in a running program,
  // named by its class): do not repeat it in the description.
  const label = m.name === '' ? m.type || '(model)' : shortName(m.name);
  const parts = [label === m.type ? '' : m.type, shape, params > 0 ? formatCount(params) + ' params' : ''].filter((s) => s !== '');
  return {
    label,
    description: parts.join('  '),
    tooltip:
      `${m.name === '' ? '(root module)' : m.name}\n${m.type}` +
      (shape ? `\noutput ${shape}` : '') +
      (m.params !== undefined ? `\n${params.toLocaleString('en-US')} parameters${share}` : '') +
      (m.line !== undefined && m.line !== null ? `\nconfigured by line ${m.line + 1}` : ''),
  };
}
