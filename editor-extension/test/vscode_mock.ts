/* vscode_mock.ts: just enough of the `vscode` API, and a stand-in for vscode-languageclient's
 * LanguageClient, for activating the extension in plain node: the unit tests of extension.ts
 * and debug.ts drive activation, configuration changes, debug adapter trackers, the active
 * editor, debug sessions' custom events and commands through it and read what the extension
 * did (clients started and stopped, log lines, adapter executables, configuration providers,
 * the Model Layers tree, breakpoints added). installMocks() must run before the extension's
 * modules are first required.
 *
 * The fake LanguageClient keeps the state rules of vscode-languageclient 9 that matter here:
 * start() takes a while (the server process starts and answers `initialize`), and stop() is
 * refused with an error while the client is starting or after its start failed, exactly as
 * BaseLanguageClient.shutdown() refuses ("Client is not running and can't be stopped"). */
import * as Module from 'module';

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (l: Listener<T>): { dispose(): void } => {
    this.listeners.push(l);
    return { dispose: () => { this.listeners = this.listeners.filter((x) => x !== l); } };
  };
  /* Calls every listener; resolves when the promises they return have settled. */
  async fire(e: T): Promise<void> {
    await Promise.allSettled(this.listeners.map((l) => l(e)));
  }
  dispose(): void { this.listeners = []; }
}

const disposable = { dispose(): void { /* nothing held */ } };

export type ClientState = 'initial' | 'starting' | 'running' | 'startFailed' | 'stopping' | 'stopped';

export class FakeLanguageClient {
  static all: FakeLanguageClient[] = [];
  static startMs = 30;
  state: ClientState = 'initial';
  readonly command: string;
  constructor(readonly id: string, readonly name: string, readonly serverOptions: { command: string; args?: string[] },
    readonly clientOptions: unknown) {
    this.command = serverOptions.command;
    FakeLanguageClient.all.push(this);
  }
  async start(): Promise<void> {
    this.state = 'starting';
    await new Promise((r) => setTimeout(r, FakeLanguageClient.startMs));
    if (this.state !== 'starting') return;
    this.state = 'running';
  }
  async stop(): Promise<void> {
    if (this.state === 'initial' || this.state === 'stopped') return;
    if (this.state !== 'running')
      throw new Error(`Client is not running and can't be stopped. It's current state is: ${this.state}`);
    this.state = 'stopping';
    await new Promise((r) => setTimeout(r, 5));
    this.state = 'stopped';
  }
  sendRequest(): Promise<never> { return Promise.reject(new Error('no server in unit tests')); }
}

export class DebugAdapterExecutable {
  constructor(readonly command: string, readonly args: string[] = []) {}
}

export class FunctionBreakpoint {
  readonly enabled = true;
  constructor(readonly functionName: string) {}
}

export class TreeItem {
  id?: string;
  description?: string;
  tooltip?: string;
  contextValue?: string;
  iconPath?: unknown;
  command?: { command: string; arguments?: unknown[] };
  constructor(readonly label: string, readonly collapsibleState: number) {}
}

export class ThemeIcon {
  constructor(readonly id: string) {}
}

/* The parts of vscode.DebugSession the extension reads. */
export interface SessionLike { id: string; type: string; name: string }

export interface TreeProviderLike {
  getChildren(el?: unknown): unknown[];
  getTreeItem(el: unknown): TreeItem;
  onDidChangeTreeData: (l: () => unknown) => { dispose(): void };
}

export interface ConfigProviderLike {
  provideDebugConfigurations?(folder: unknown): unknown;
  resolveDebugConfiguration?(folder: unknown, config: Record<string, unknown>): unknown;
}

export interface DebugAdapterTrackerLike {
  onWillStartSession?(): void;
  onWillReceiveMessage?(m: unknown): void;
  onDidSendMessage?(m: unknown): void;
  onWillStopSession?(): void;
  onError?(e: Error): void;
  onExit?(code: number | undefined, signal: string | undefined): void;
}

export interface Mocks {
  config: Map<string, unknown>;          /* "layerscope.path" -> value */
  logLines: string[];                    /* what the extension wrote to its output channel */
  configChanged: EventEmitter<{ affectsConfiguration(section: string): boolean }>;
  /* Changes settings and fires onDidChangeConfiguration like VS Code; resolves when the
   * extension's handlers have finished. */
  setConfig(values: Record<string, unknown>): Promise<void>;
  adapterFactory?: { createDebugAdapterDescriptor(session: unknown): DebugAdapterExecutable };
  trackerFactory?: { createDebugAdapterTracker(session: unknown): DebugAdapterTrackerLike };
  context: { subscriptions: { dispose(): void }[]; extensionPath: string };
  /* registerDebugConfigurationProvider calls, with their trigger kind (1 Initial, 2 Dynamic) */
  configProviders: { type: string; provider: ConfigProviderLike; trigger: number }[];
  /* The active text editor: a document at `path` in language `languageId` (undefined: none). */
  setActiveEditor(path: string | undefined, languageId?: string): void;
  workspaceFolder?: string;              /* what workspace.getWorkspaceFolder answers */
  commands: Map<string, (...args: unknown[]) => unknown>;
  breakpoints: unknown[];                /* vscode.debug.breakpoints (addBreakpoints appends) */
  treeView?: { provider: TreeProviderLike; view: { description?: string } };
  activeDebugSession?: SessionLike;
  customEvent: EventEmitter<{ session: SessionLike; event: string; body?: unknown }>;
  sessionTerminated: EventEmitter<SessionLike>;
  activeSessionChanged: EventEmitter<SessionLike | undefined>;
  /* webview panels created, with the HTML they show now; dispose() closes one */
  panels: { viewType: string; title: string; webview: { html: string; cspSource: string }; dispose(): void }[];
}

export function installMocks(extensionPath: string): Mocks {
  const config = new Map<string, unknown>();
  const logLines: string[] = [];
  const configChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();
  const mocks: Mocks = {
    config, logLines, configChanged,
    context: { subscriptions: [], extensionPath },
    configProviders: [],
    commands: new Map(),
    breakpoints: [],
    customEvent: new EventEmitter(),
    sessionTerminated: new EventEmitter(),
    activeSessionChanged: new EventEmitter(),
    panels: [],
    setActiveEditor(p, languageId) {
      vscode.window.activeTextEditor = p === undefined ? undefined
        : { document: { uri: vscode.Uri.file(p), languageId: languageId ?? 'plaintext' } } as never;
    },
    async setConfig(values) {
      const keys = Object.keys(values);
      for (const k of keys) config.set(k, values[k]);
      await configChanged.fire({
        affectsConfiguration: (section: string) => keys.some((k) => k === section || k.startsWith(section + '.')),
      });
    },
  };
  const channel = {
    appendLine: (l: string) => { logLines.push(l); },
    append: (t: string) => { logLines.push(t); },
    show: () => undefined,
    dispose: () => undefined,
  };
  const vscode = {
    EventEmitter,
    DebugAdapterExecutable,
    FunctionBreakpoint,
    TreeItem,
    ThemeIcon,
    DebugConfigurationProviderTriggerKind: { Initial: 1, Dynamic: 2 },
    StatusBarAlignment: { Left: 1, Right: 2 },
    TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
    ViewColumn: { Active: -1, Beside: -2, One: 1 },
    TextEditorRevealType: { InCenterIfOutsideViewport: 2 },
    Uri: class { static file(p: string) { return { fsPath: p, scheme: 'file', toString: () => `file://${p}` }; } },
    window: {
      activeTextEditor: undefined as undefined | { document: { uri: { fsPath: string; scheme: string }; languageId: string } },
      createOutputChannel: () => channel,
      createTreeView: (_id: string, o: { treeDataProvider: TreeProviderLike }) => {
        const view = { description: undefined as string | undefined, dispose: () => undefined };
        mocks.treeView = { provider: o.treeDataProvider, view };
        return view;
      },
      setStatusBarMessage: () => disposable,
      showWarningMessage: () => Promise.resolve(undefined),
      createStatusBarItem: () => ({ text: '', tooltip: '', name: '', show: () => undefined, hide: () => undefined, dispose: () => undefined }),
      onDidChangeActiveTextEditor: () => disposable,
      showErrorMessage: () => Promise.resolve(undefined),
      createWebviewPanel: (viewType: string, title: string) => {
        const disposed = new EventEmitter<void>();
        const panel = { viewType, title, webview: { html: '', cspSource: 'vscode-test:' }, onDidDispose: disposed.event,
          dispose: () => { void disposed.fire(); } };
        mocks.panels.push(panel);
        return panel;
      },
    },
    workspace: {
      getConfiguration: (section: string) => ({ get: <T>(key: string): T | undefined => config.get(`${section}.${key}`) as T | undefined }),
      onDidChangeTextDocument: () => disposable,
      onDidChangeConfiguration: configChanged.event,
      getWorkspaceFolder: () => (mocks.workspaceFolder ? { uri: vscode.Uri.file(mocks.workspaceFolder) } : undefined),
    },
    commands: {
      registerCommand: (id: string, f: (...args: unknown[]) => unknown) => { mocks.commands.set(id, f); return disposable; },
      executeCommand: () => Promise.resolve(undefined),
    },
    debug: {
      get breakpoints() { return mocks.breakpoints; },
      addBreakpoints: (bps: unknown[]) => { mocks.breakpoints.push(...bps); },
      get activeDebugSession() { return mocks.activeDebugSession; },
      onDidReceiveDebugSessionCustomEvent: mocks.customEvent.event,
      onDidChangeActiveDebugSession: mocks.activeSessionChanged.event,
      registerDebugConfigurationProvider: (type: string, provider: ConfigProviderLike, trigger = 1) => {
        mocks.configProviders.push({ type, provider, trigger });
        return disposable;
      },
      registerDebugAdapterDescriptorFactory: (_type: string, f: Mocks['adapterFactory']) => { mocks.adapterFactory = f; return disposable; },
      registerDebugAdapterTrackerFactory: (_type: string, f: Mocks['trackerFactory']) => { mocks.trackerFactory = f; return disposable; },
      onDidTerminateDebugSession: mocks.sessionTerminated.event,
    },
  };
  const languageClient = { LanguageClient: FakeLanguageClient };
  const mod = Module as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown };
  const load = mod._load;
  mod._load = function (request: string, parent: unknown, isMain: boolean): unknown {
    if (request === 'vscode') return vscode;
    if (request === 'vscode-languageclient/node') return languageClient;
    return load.call(this, request, parent, isMain);
  };
  return mocks;
}
