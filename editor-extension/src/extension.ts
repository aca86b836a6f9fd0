/* extension.ts: entry point of the layerscope VS Code extension. It finds the executable
 * (binary.ts), starts it as the language server for JSON documents (`layerscope lsp`,
 * through vscode-languageclient, settings section "layerscope" pushed and pulled), registers
 * the `layerscope` debug type (`layerscope dap`, debug.ts), the Model Layers view
 * (layersView.ts: a config's module tree, or the live one of a debugged PyTorch program from
 * the adapter's `layerscopeModules` events) and the webview commands (panels.ts: summary,
 * profile, tensor pictures). All server and adapter logs go to
 * the "layerscope" output channel.
 *
 * A change of `layerscope.path` restarts the language server with the new executable (the
 * next debug session starts it too). Starts, stops and restarts run one after another
 * (`lifecycle`): vscode-languageclient refuses to stop a client that is still starting, so a
 * restart that did not wait for the start in progress left that server running beside the
 * new one. */
import * as fs from 'fs';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import { resolveBinary } from './binary';
import { registerDebug } from './debug';
import { addModuleBreakpoint, LayersProvider } from './layersView';
import { showHealth, showProfile, showSummary, showTensor } from './panels';

let client: LanguageClient | undefined;
let log: vscode.OutputChannel;
let binPath: string | undefined;
/* The last start / stop / restart of the language client; the next one waits for it. */
let lifecycle: Promise<void> = Promise.resolve();

function queue(step: () => Promise<void>): Promise<void> {
  lifecycle = lifecycle.then(step, step);
  return lifecycle;
}

function isExecutable(p: string): boolean {
  try { fs.accessSync(p, fs.constants.X_OK); return fs.statSync(p).isFile(); } catch { return false; }
}

function findBinary(ctx: vscode.ExtensionContext): string | undefined {
  // Some VSIX installers drop the executable bit of bin/layerscope: restore it.
  const bundled = `${ctx.extensionPath}/bin/layerscope`;
  try { if (fs.statSync(bundled).isFile()) fs.chmodSync(bundled, 0o755); } catch { /* not bundled */ }
  const r = resolveBinary(vscode.workspace.getConfiguration('layerscope').get<string>('path'), process.env.PATH,
    ctx.extensionPath, isExecutable);
  if (r.error) {
    log.appendLine(`[start] ${r.error}`);
    void vscode.window.showErrorMessage(r.error, 'Open Settings').then((a) => {
      if (a) void vscode.commands.executeCommand('workbench.action.openSettings', 'layerscope.path');
    });
    return undefined;
  }
  log.appendLine(`[start] using ${r.path} (from ${r.source})`);
  return r.path;
}

async function startClient(layers: LayersProvider): Promise<void> {
  if (!binPath) return;
  // No `transport`: vscode-languageclient would append --stdio; stdio is the default anyway.
  const server: ServerOptions = { command: binPath, args: ['lsp'] };
  const opts: LanguageClientOptions = {
    // python: the shapes a watched run recorded for its module calls (layerscope.runRecord)
    documentSelector: [{ scheme: 'file', language: 'json' }, { scheme: 'untitled', language: 'json' },
      { scheme: 'file', language: 'python' }],
    synchronize: { configurationSection: 'layerscope' },
    outputChannel: log,
    traceOutputChannel: log,
  };
  client = new LanguageClient('layerscope', 'layerscope', server, opts);
  try {
    await client.start();
    layers.schedule(0);
  } catch (e) {
    log.appendLine(`[start] language server failed: ${(e as Error).message}`);
  }
}

async function stopClient(): Promise<void> {
  const c = client;
  client = undefined;
  // A client whose start failed has no server to stop: the refusal is expected then.
  if (c) await c.stop().catch((e: Error) => log.appendLine(`[stop] ${e.message}`));
}

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  log = vscode.window.createOutputChannel('layerscope');
  ctx.subscriptions.push(log);
  binPath = findBinary(ctx);

  const layers = new LayersProvider(() => client, log);
  const view = vscode.window.createTreeView('layerscope.modelLayers', { treeDataProvider: layers, showCollapseAll: true });
  ctx.subscriptions.push(view);
  ctx.subscriptions.push(
    layers.onDidChangeTreeData(() => { view.description = layers.description(); }),
    vscode.debug.onDidReceiveDebugSessionCustomEvent((e) => layers.onCustomEvent(e)),
    vscode.debug.onDidTerminateDebugSession((s) => layers.onSessionEnd(s)),
    vscode.debug.onDidChangeActiveDebugSession(() => layers.onActiveSessionChange()),
    vscode.window.onDidChangeActiveTextEditor(() => layers.schedule(50)),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === vscode.window.activeTextEditor?.document) layers.schedule();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('layerscope.path')) {
        return queue(async () => {
          binPath = findBinary(ctx); // the language server now, the debug adapter next session
          await stopClient();
          await startClient(layers);
        });
      }
      if (e.affectsConfiguration('layerscope')) layers.schedule();
      return undefined;
    }),
    vscode.commands.registerCommand('layerscope.refreshLayers', () => layers.refresh()),
    vscode.commands.registerCommand('layerscope.addModuleBreakpoint', (item) => addModuleBreakpoint(item, 'forward')),
    vscode.commands.registerCommand('layerscope.addModuleBackwardBreakpoint', (item) => addModuleBreakpoint(item, 'backward')),
    vscode.commands.registerCommand('layerscope.revealModuleLine', async (uri: vscode.Uri, line: number) => {
      const ed = await vscode.window.showTextDocument(uri, { preserveFocus: false });
      const pos = new vscode.Position(line, 0);
      ed.selection = new vscode.Selection(pos, pos);
      ed.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }),
    vscode.commands.registerCommand('layerscope.showSummary', (uri?: vscode.Uri) => showSummary(binPath, uri, log)),
    vscode.commands.registerCommand('layerscope.profile', (uri?: vscode.Uri, opts?: { tokens?: number }) =>
      showProfile(binPath, uri, log, opts)),
    vscode.commands.registerCommand('layerscope.showHealth', (uri?: vscode.Uri, opts?: { intervalMs?: number }) =>
      showHealth(binPath, uri, log, opts)),
    vscode.commands.registerCommand('layerscope.showHistogram', (arg) => showTensor('histogram', arg, log)),
    vscode.commands.registerCommand('layerscope.showHeatmap', (arg) => showTensor('heatmap', arg, log)),
    vscode.commands.registerCommand('layerscope.showLog', () => log.show(true)),
    vscode.commands.registerCommand('layerscope.restartServer', () => queue(async () => {
      await stopClient();
      await startClient(layers);
    })),
  );
  registerDebug(ctx, () => binPath, log);
  await queue(() => startClient(layers));
}

export function deactivate(): Thenable<void> {
  return queue(stopClient);
}
