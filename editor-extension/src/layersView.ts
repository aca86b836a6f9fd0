/* layersView.ts: the Model Layers tree view (Explorer). It asks the language server for the
 * module tree of the active JSON document with the custom request `layerscope/modelTree`
 * (see modelTree.ts for the contract), rebuilds the nesting and shows each module with its
 * type, output shape and parameter count. Items with a config line jump there on click; the
 * inline action adds a function breakpoint on the module's name, which the debug adapter
 * matches against the module names of the forward pass. */
import * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/node';
import { buildLayerTree, describeNode, LayerNode, validateModelTree } from './modelTree';

type Item = { node?: LayerNode; message?: string; total: number; uri?: vscode.Uri };

export class LayersProvider implements vscode.TreeDataProvider<Item> {
  private readonly changed = new vscode.EventEmitter<Item | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: Item[] = [];
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;

  constructor(private readonly client: () => LanguageClient | undefined, private readonly log: vscode.OutputChannel) {}

  /* Re-queries after edits settle; a reply for an older query is dropped. */
  schedule(delayMs = 300): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => { void this.refresh(); }, delayMs);
  }

  async refresh(): Promise<void> {
    const my = ++this.seq;
    const ed = vscode.window.activeTextEditor;
    const c = this.client();
    if (!ed || ed.document.languageId !== 'json' || !c) {
      if (!ed || ed.document.languageId !== 'json') { this.roots = []; this.changed.fire(undefined); }
      return;
    }
    const uri = ed.document.uri;
    let items: Item[];
    try {
      const raw = await c.sendRequest('layerscope/modelTree', { textDocument: { uri: uri.toString() } });
      const res = validateModelTree(raw);
      if (!res) items = [];
      else items = buildLayerTree(res.modules).map((node) => ({ node, total: res.params, uri }));
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      this.log.appendLine(`[layers] modelTree failed: ${msg}`);
      items = [{ message: `Model tree unavailable: ${msg}`, total: 0 }];
    }
    if (my !== this.seq) return;
    this.roots = items;
    this.changed.fire(undefined);
  }

  getChildren(el?: Item): Item[] {
    if (!el) return this.roots;
    return (el.node?.children ?? []).map((node) => ({ node, total: el.total, uri: el.uri }));
  }

  getTreeItem(el: Item): vscode.TreeItem {
    if (!el.node) {
      const t = new vscode.TreeItem(el.message ?? '', vscode.TreeItemCollapsibleState.None);
      t.iconPath = new vscode.ThemeIcon('warning');
      return t;
    }
    const m = el.node.module;
    const d = describeNode(m, el.total);
    const state = el.node.children.length === 0 ? vscode.TreeItemCollapsibleState.None
      : m.depth === 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
    const t = new vscode.TreeItem(d.label, state);
    t.id = `${el.uri?.toString()}#${m.name}`;
    t.description = d.description;
    t.tooltip = d.tooltip;
    t.contextValue = m.name === '' ? 'root' : 'module';
    t.iconPath = new vscode.ThemeIcon(m.depth === 0 ? 'symbol-class' : el.node.children.length ? 'symbol-namespace' : 'symbol-field');
    if (m.line !== undefined && m.line !== null && el.uri)
      t.command = { command: 'layerscope.revealModuleLine', title: 'Go to Config Key', arguments: [el.uri, m.line] };
    return t;
  }
}

/* The inline action: one function breakpoint per module name, not added twice. */
export function addModuleBreakpoint(item: Item | undefined): void {
  const name = item?.node?.module.name;
  if (!name) { void vscode.window.showWarningMessage('layerscope: select a module in Model Layers first.'); return; }
  const exists = vscode.debug.breakpoints.some((b) => b instanceof vscode.FunctionBreakpoint && b.functionName === name);
  if (!exists) vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(name)]);
  void vscode.window.setStatusBarMessage(`layerscope: breakpoint on module ${name}`, 4000);
}
