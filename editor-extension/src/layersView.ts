/* layersView.ts: the Model Layers tree view (Explorer). Two sources:
 *   - a model config: the module tree of the active JSON document from the language server's
 *     custom request `layerscope/modelTree` (see modelTree.ts for the contract), each module
 *     with its type, output shape and parameter count; a click jumps to its config line;
 *   - a running PyTorch program: the module table the debug adapter reports in the custom
 *     event `layerscopeModules` (liveModules.ts) while a `layerscope` session runs it.
 * The live table is shown while such a session exists (the active debug session's, else the
 * latest one's), the config's tree otherwise. On every module the actions add a function
 * breakpoint on its name, for the forward pass (the name) or the backward pass
 * ("backward:NAME"); the debug adapter matches them against the modules that run. */
import * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/node';
import { ModuleTable } from './liveModules';
import { buildLayerTree, describeNode, LayerNode, readingBanner, validateModelTree } from './modelTree';

export type Item = { node?: LayerNode; message?: string; total: number; uri?: vscode.Uri; session?: string };

interface LiveSession { name: string; table: ModuleTable }

/* What the view needs to know of a debug session (vscode.DebugSession has more). */
export interface SessionLike { id: string; type: string; name: string }

export class LayersProvider implements vscode.TreeDataProvider<Item> {
  private readonly changed = new vscode.EventEmitter<Item | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private configRoots: Item[] = [];
  /* Sessions that reported modules, in the order of their first report. */
  private readonly live = new Map<string, LiveSession>();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;

  constructor(private readonly client: () => LanguageClient | undefined, private readonly log: vscode.OutputChannel,
    private readonly activeSession: () => SessionLike | undefined = () => vscode.debug.activeDebugSession) {}

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
      if (!ed || ed.document.languageId !== 'json') { this.configRoots = []; this.changed.fire(undefined); }
      return;
    }
    const uri = ed.document.uri;
    let items: Item[];
    try {
      const raw = await c.sendRequest('layerscope/modelTree', { textDocument: { uri: uri.toString() } });
      const res = validateModelTree(raw);
      if (!res) items = [];
      else {
        items = buildLayerTree(res.modules).map((node) => ({ node, total: res.params, uri }));
        const banner = readingBanner(res);
        if (banner) items.unshift({ message: banner, total: 0 });
      }
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      this.log.appendLine(`[layers] modelTree failed: ${msg}`);
      items = [{ message: `Model tree unavailable: ${msg}`, total: 0 }];
    }
    if (my !== this.seq) return;
    this.configRoots = items;
    this.changed.fire(undefined);
  }

  /* vscode.debug.onDidReceiveDebugSessionCustomEvent */
  onCustomEvent(e: { session: SessionLike; event: string; body?: unknown }): void {
    if (e.session.type !== 'layerscope' || e.event !== 'layerscopeModules') return;
    let s = this.live.get(e.session.id);
    if (!s) s = { name: e.session.name, table: new ModuleTable() };
    try {
      s.table.apply(e.body);
    } catch (err) {
      this.log.appendLine(`[layers] ${(err as Error).message}`);
      return;
    }
    if (s.table.size > 0) this.live.set(e.session.id, s);
    else this.live.delete(e.session.id);
    this.changed.fire(undefined);
  }

  /* vscode.debug.onDidTerminateDebugSession: its modules go; the config's tree comes back. */
  onSessionEnd(session: SessionLike): void {
    if (this.live.delete(session.id)) this.changed.fire(undefined);
  }

  /* vscode.debug.onDidChangeActiveDebugSession: the view follows the session in focus. */
  onActiveSessionChange(): void {
    if (this.live.size > 0) this.changed.fire(undefined);
  }

  /* The session whose modules are shown, if any. */
  shownSession(): string | undefined {
    const active = this.activeSession()?.id;
    if (active && this.live.has(active)) return active;
    let last: string | undefined;
    for (const id of this.live.keys()) last = id;
    return last;
  }

  /* The view's description: which session the tree is live from ("live: train.py"; the
   * sessions F5 makes are named "layerscope: FILE", and the view is layerscope's already). */
  description(): string | undefined {
    const id = this.shownSession();
    return id ? `live: ${this.live.get(id)?.name.replace(/^layerscope:\s*/, '')}` : undefined;
  }

  getChildren(el?: Item): Item[] {
    if (!el) {
      const id = this.shownSession();
      const s = id ? this.live.get(id) : undefined;
      if (!s) return this.configRoots;
      return s.table.tree().map((node) => ({ node, total: 0, session: id }));
    }
    return (el.node?.children ?? []).map((node) => ({ node, total: el.total, uri: el.uri, session: el.session }));
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
    t.id = el.session ? `live:${el.session}#${el.node.key}` : `${el.uri?.toString()}#${m.name}`;
    t.description = d.description;
    t.tooltip = d.tooltip;
    t.contextValue = m.name === '' ? 'root' : 'module';
    t.iconPath = new vscode.ThemeIcon(m.depth === 0 ? 'symbol-class' : el.node.children.length ? 'symbol-namespace' : 'symbol-field');
    if (m.line !== undefined && m.line !== null && el.uri)
      t.command = { command: 'layerscope.revealModuleLine', title: 'Go to Config Key', arguments: [el.uri, m.line] };
    return t;
  }
}

export type Phase = 'forward' | 'backward';

/* The function breakpoint for a module: its name stops at the module's exit in the forward
 * pass (the adapter's default phase); "backward:NAME" when its gradients are computed. */
export function moduleBreakpointName(name: string, phase: Phase): string {
  return phase === 'forward' ? name : `${phase}:${name}`;
}

/* Names that already stop there: the same phase spelled out, or "both:". */
function sameStop(name: string, phase: Phase): string[] {
  return [moduleBreakpointName(name, phase), `${phase}:${name}`, `both:${name}`];
}

/* The actions on a module: one function breakpoint per module and phase, not added twice. */
export function addModuleBreakpoint(item: Item | undefined, phase: Phase = 'forward'): void {
  const name = item?.node?.module.name;
  if (!name) { void vscode.window.showWarningMessage('layerscope: select a module in Model Layers first.'); return; }
  const names = sameStop(name, phase);
  const exists = vscode.debug.breakpoints.some((b) => b instanceof vscode.FunctionBreakpoint && names.includes(b.functionName));
  if (!exists) vscode.debug.addBreakpoints([new vscode.FunctionBreakpoint(moduleBreakpointName(name, phase))]);
  void vscode.window.setStatusBarMessage(`layerscope: breakpoint on module ${name}${phase === 'backward' ? ' (backward pass)' : ''}`, 4000);
}
