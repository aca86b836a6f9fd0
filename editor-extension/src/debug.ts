/* debug.ts: the `layerscope` debug type: the adapter is the same executable started as
 * `layerscope dap` (the one `layerscope.path` names when the session starts); a configuration
 * provider completes launch configurations from the active editor (launch.ts: F5 without
 * launch.json on a config.json, or on a PyTorch program's .py) and offers the same in the Run
 * and Debug picker; an adapter tracker follows the session to keep a status bar item showing
 * the module the run is paused in (the top frame of the last stackTrace reply), and logs an
 * adapter that ends in the middle of a session. VS Code reports every adapter's closed output as an error ("read error"), also
 * after a normal end: once the session is ending (a disconnect or terminate request, the
 * adapter's terminated event) that is the expected end and not logged. */
import * as vscode from 'vscode';
import { initialConfigurations, LaunchContext, pickerConfigurations, resolveLaunch } from './launch';

/* Sessions whose adapter advertised the custom request in its initialize response
 * (capability `supportsLayerscopeTensor`, see README.md). Asking an adapter that does not
 * serve it would make VS Code show its "unknown command" error to the user. */
const tensorCapable = new Set<string>();
export function supportsTensorRequest(sessionId: string): boolean {
  return tensorCapable.has(sessionId);
}

export function registerDebug(ctx: vscode.ExtensionContext, binary: () => string | undefined,
  log: vscode.OutputChannel): void {
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  status.name = 'layerscope debug session';
  ctx.subscriptions.push(status);

  const editorContext = (folder: vscode.WorkspaceFolder | undefined): LaunchContext => {
    const ed = vscode.window.activeTextEditor;
    const file = ed?.document.uri.scheme === 'file' ? ed.document.uri : undefined;
    return {
      activeFile: file?.fsPath,
      activeLanguage: ed?.document.languageId,
      workspaceFolder: (folder ?? (file && vscode.workspace.getWorkspaceFolder(file)))?.uri.fsPath,
    };
  };
  const provider: vscode.DebugConfigurationProvider = {
    provideDebugConfigurations: (folder) => initialConfigurations(editorContext(folder)) as vscode.DebugConfiguration[],
    resolveDebugConfiguration: (folder, config) => {
      const r = resolveLaunch(config, editorContext(folder));
      if (r.error) { void vscode.window.showErrorMessage(r.error); return undefined; }
      return r.config as vscode.DebugConfiguration;
    },
  };
  // Initial: what a new launch.json gets; Dynamic: the entries of the Run and Debug picker
  // ("layerscope..."): what F5 would launch for the active file.
  ctx.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider('layerscope', provider, vscode.DebugConfigurationProviderTriggerKind.Initial),
    vscode.debug.registerDebugConfigurationProvider('layerscope', {
      provideDebugConfigurations: (folder) => pickerConfigurations(editorContext(folder)) as vscode.DebugConfiguration[],
    }, vscode.DebugConfigurationProviderTriggerKind.Dynamic));

  ctx.subscriptions.push(vscode.debug.registerDebugAdapterDescriptorFactory('layerscope', {
    createDebugAdapterDescriptor: () => {
      const bin = binary();
      if (!bin) throw new Error('layerscope executable not found (set layerscope.path)');
      log.appendLine(`[debug] starting ${bin} dap`);
      return new vscode.DebugAdapterExecutable(bin, ['dap']);
    },
  }));

  ctx.subscriptions.push(vscode.debug.registerDebugAdapterTrackerFactory('layerscope', {
    createDebugAdapterTracker: (session) => {
      // VS Code fetches the stack in pieces (top frame first, then the rest): only replies to
      // requests starting at frame 0 name the module the pass is paused in.
      const fromTop = new Set<number>();
      let ending = false; // the session is being ended: the adapter's exit is expected
      return {
      onWillStartSession: () => { status.text = '$(debug-start) layerscope: running'; status.tooltip = session.name; status.show(); },
      onWillReceiveMessage: (m: { type?: string; command?: string; seq?: number; arguments?: { startFrame?: number } }) => {
        if (m.type === 'request' && m.command === 'stackTrace' && typeof m.seq === 'number' && !m.arguments?.startFrame)
          fromTop.add(m.seq);
        if (m.type === 'request' && (m.command === 'disconnect' || m.command === 'terminate')) ending = true;
      },
      onDidSendMessage: (m: { type?: string; event?: string; command?: string; success?: boolean; request_seq?: number;
        body?: { stackFrames?: { name?: string }[]; reason?: string; output?: string; category?: string;
                 supportsLayerscopeTensor?: boolean } }) => {
        if (m.type === 'response' && m.command === 'initialize' && m.success && m.body?.supportsLayerscopeTensor === true)
          tensorCapable.add(session.id);
        if (m.type === 'event' && (m.event === 'terminated' || m.event === 'exited')) ending = true;
        if (m.type === 'event' && m.event === 'stopped') status.text = `$(debug-pause) layerscope: paused (${m.body?.reason ?? 'stopped'})`;
        else if (m.type === 'event' && m.event === 'continued') status.text = '$(debug-start) layerscope: running';
        else if (m.type === 'event' && m.event === 'output' && m.body?.category === 'console' && m.body.output)
          log.append(`[debug] ${m.body.output}`);
        else if (m.type === 'response' && m.command === 'stackTrace' && m.success &&
                 typeof m.request_seq === 'number' && fromTop.delete(m.request_seq)) {
          const top = m.body?.stackFrames?.[0]?.name;
          if (top) status.text = `$(debug-pause) layerscope: ${top}`;
        }
      },
      onError: (e) => { if (!ending) log.appendLine(`[debug] adapter error: ${e.message}`); },
      onExit: (code) => { if (code) log.appendLine(`[debug] adapter exited with status ${code}`); },
      onWillStopSession: () => { ending = true; status.hide(); tensorCapable.delete(session.id); },
      };
    },
  }));
  ctx.subscriptions.push(vscode.debug.onDidTerminateDebugSession((s) => { if (s.type === 'layerscope') status.hide(); }));
}
