/* panels.ts: the webview commands. Model Summary runs `layerscope summary CONFIG --format
 * json` with execFile (no shell: the path is passed as one argument whatever it contains)
 * and renders summary.ts's page. Profile runs `layerscope profile` on a config or a model
 * directory (random tokens, the flame graph written to a temporary file) and renders
 * profile.ts's page. Training Health runs `layerscope report RUN.db --format json` on a record
 * (picked, or the live debug session's) and renders health.ts's page, again whenever the
 * file changes while the panel is open (a live run writing steps). The tensor pictures send the custom DAP request `layerscopeTensor` to
 * the paused session and render tensor.ts's page. Every page is static HTML without scripts. */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { supportsTensorRequest } from './debug';
import { healthArgs, healthHtml, healthRecord, healthView, healthWaitingHtml, parseHealth } from './health';
import { parseProfile, profileArgs, profileHtml, profileTarget } from './profile';
import { parseSummary, summaryHtml } from './summary';
import { parseHistogramText, shapeFromValue, TensorKind, TensorReply, TensorRequestArgs, tensorHtml, validateTensorReply } from './tensor';

function runSummary(bin: string, args: string[], timeout = 60000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 256 * 1024 * 1024, timeout }, (err, stdout, stderr) => {
      if (err) reject(new Error(`layerscope ${args.join(' ')} failed: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

export function summaryArgs(file: string, cfg: { batch?: number; seqLen?: number; dtype?: string }): string[] {
  const a = ['summary', file, '--format', 'json'];
  if (cfg.batch && cfg.batch > 1) a.push('--batch', String(cfg.batch));
  if (cfg.seqLen && cfg.seqLen > 0) a.push('--seq', String(cfg.seqLen));
  if (cfg.dtype) a.push('--dtype', cfg.dtype);
  return a;
}

export async function showSummary(bin: string | undefined, target: vscode.Uri | undefined, log: vscode.OutputChannel): Promise<void> {
  const uri = target instanceof vscode.Uri ? target : vscode.window.activeTextEditor?.document.uri;
  if (!uri || uri.scheme !== 'file') { void vscode.window.showWarningMessage('layerscope: open a model config.json first.'); return; }
  if (!bin) { void vscode.window.showErrorMessage('layerscope executable not found (set layerscope.path).'); return; }
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (doc?.isDirty) await doc.save();
  const c = vscode.workspace.getConfiguration('layerscope');
  const args = summaryArgs(uri.fsPath, { batch: c.get<number>('batch'), seqLen: c.get<number>('seqLen'), dtype: c.get<string>('dtype') });
  try {
    const s = parseSummary(await runSummary(bin, args));
    const name = uri.path.split('/').slice(-2).join('/');
    const panel = vscode.window.createWebviewPanel('layerscope.summary', `Summary: ${name}`, vscode.ViewColumn.Beside,
      { enableScripts: false });
    panel.webview.html = summaryHtml(s, `Summary: ${name}`, panel.webview.cspSource);
  } catch (e) {
    log.appendLine(`[summary] ${(e as Error).message}`);
    void vscode.window.showErrorMessage((e as Error).message);
  }
}

/* Profile on a config.json (the editor's or the explorer's) or a model directory. opts.tokens
 * skips the question (tests, keybindings). */
export async function showProfile(bin: string | undefined, target: vscode.Uri | undefined, log: vscode.OutputChannel,
  opts?: { tokens?: number }): Promise<void> {
  const uri = target instanceof vscode.Uri ? target : vscode.window.activeTextEditor?.document.uri;
  if (!uri || uri.scheme !== 'file') { void vscode.window.showWarningMessage('layerscope: open a model config.json or pick a model folder first.'); return; }
  if (!bin) { void vscode.window.showErrorMessage('layerscope executable not found (set layerscope.path).'); return; }
  let isDir = false;
  try { isDir = fs.statSync(uri.fsPath).isDirectory(); } catch { /* reported by layerscope */ }
  const t = profileTarget(uri.fsPath, isDir, (d) => fs.readdirSync(d));
  if (t.error || !t.config) { void vscode.window.showErrorMessage(`layerscope: ${t.error}`); return; }
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === t.config);
  if (doc?.isDirty) await doc.save();
  let tokens = opts?.tokens;
  if (!tokens) {
    const v = await vscode.window.showInputBox({ prompt: 'Tokens of the profiled forward pass (seeded random ids)', value: '128',
      validateInput: (x) => /^\d+$/.test(x) && Number(x) >= 1 && Number(x) <= 1048576 ? undefined : 'a whole number of tokens, 1..1048576' });
    if (!v) return;
    tokens = Number(v);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerscope-profile-'));
  const flame = path.join(dir, 'flame.svg');
  const args = profileArgs(t.config, t.weights, tokens, flame);
  const name = t.config.split('/').slice(-2).join('/');
  try {
    const out = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification,
      title: `layerscope: profiling ${name} (${tokens} tokens)` }, () => runSummary(bin, args, 30 * 60000));
    const p = parseProfile(out);
    const svg = fs.readFileSync(flame, 'utf8');
    const panel = vscode.window.createWebviewPanel('layerscope.profile', `Profile: ${name}`, vscode.ViewColumn.Beside,
      { enableScripts: false });
    panel.webview.html = profileHtml(p, svg, `Profile: ${name}`, 25, panel.webview.cspSource);
  } catch (e) {
    log.appendLine(`[profile] ${(e as Error).message}`);
    void vscode.window.showErrorMessage((e as Error).message);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/* Training Health of a record: the .db picked in the explorer, else the live layerscope debug
 * session's `record`, else the layerscope.runRecord setting, else one asked for. The panel
 * follows the file (polled, as the program may write it from another process) and draws the
 * report again when it changes. opts.intervalMs: the polling period (tests). */
export async function showHealth(bin: string | undefined, target: vscode.Uri | undefined, log: vscode.OutputChannel,
  opts?: { intervalMs?: number }): Promise<vscode.WebviewPanel | undefined> {
  if (!bin) { void vscode.window.showErrorMessage('layerscope executable not found (set layerscope.path).'); return undefined; }
  const s = vscode.debug.activeDebugSession;
  const live = s && s.type === 'layerscope'
    ? { record: s.configuration.record, cwd: s.configuration.cwd, folder: s.workspaceFolder?.uri.fsPath } : undefined;
  let { db } = healthRecord(target instanceof vscode.Uri ? target.fsPath : undefined, live,
    vscode.workspace.getConfiguration('layerscope').get<string>('runRecord'));
  if (!db) {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Show Training Health',
      filters: { 'Run records': ['db'] } });
    if (!picked?.length) return undefined;
    db = picked[0].fsPath;
  }
  const file = db;
  const panel = vscode.window.createWebviewPanel('layerscope.health', `Health: ${path.basename(file)}`, vscode.ViewColumn.Beside,
    { enableScripts: false });
  let busy = false, again = false, last = '';
  const draw = async (): Promise<void> => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        try {
          const h = parseHealth(await runSummary(bin, healthArgs(file)));
          const html = healthHtml(healthView(h), `read ${new Date().toLocaleTimeString()}`, panel.webview.cspSource);
          if (html !== last) panel.webview.html = last = html;
        } catch (e) {
          const msg = (e as Error).message;
          log.appendLine(`[health] ${msg}`);
          // a live run before its first sampled step has no health samples yet: keep waiting
          panel.webview.html = last = healthWaitingHtml(file, /no health samples|no such file|cannot open|does not exist/i.test(msg)
            ? 'waiting for the first sampled step (layerscope watch --health --record, or a debug session with a record)...' : msg,
          panel.webview.cspSource);
        }
      } while (again);
    } finally { busy = false; }
  };
  const onChange = (cur: fs.Stats, prev: fs.Stats): void => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) void draw();
  };
  const interval = opts?.intervalMs ?? 1000;
  fs.watchFile(file, { interval }, onChange);
  fs.watchFile(`${file}-journal`, { interval }, onChange);
  panel.onDidDispose(() => { fs.unwatchFile(file, onChange); fs.unwatchFile(`${file}-journal`, onChange); });
  await draw();
  return panel;
}

/* Argument VS Code passes to debug/variables/context commands. */
interface VariableContext { variable?: { name?: string; value?: string; evaluateName?: string; variablesReference?: number } }

/* The histogram through the standard `evaluate` request and the expression language. */
async function histogramByEvaluate(session: vscode.DebugSession, expr: string, bins: number, frameId: number | undefined,
  value: string | undefined): Promise<TensorReply> {
  const r = await session.customRequest('evaluate', { expression: `hist(${expr}, ${bins})`, context: 'repl', frameId });
  return { shape: shapeFromValue(value), histogram: parseHistogramText(String(r?.result ?? '')) };
}

export async function showTensor(kind: TensorKind, arg: VariableContext | undefined, log: vscode.OutputChannel): Promise<void> {
  const session = vscode.debug.activeDebugSession;
  if (!session || session.type !== 'layerscope') {
    void vscode.window.showWarningMessage('layerscope: pause a layerscope debug session first.'); return;
  }
  const args: TensorRequestArgs = { kind };
  let what = arg?.variable?.evaluateName ?? arg?.variable?.name;
  if (arg?.variable?.variablesReference) args.variablesReference = arg.variable.variablesReference;
  if (!what) {
    what = await vscode.window.showInputBox({ prompt: `Tensor for the ${kind} (an expression such as output or model.layers.0.self_attn.attn_probs)`, value: 'output' });
    if (!what) return;
  }
  args.expression = what;
  const item = (vscode.debug as unknown as { activeStackItem?: { frameId?: number } }).activeStackItem;
  if (item && typeof item.frameId === 'number') args.frameId = item.frameId;
  if (kind === 'heatmap') {
    const h = await vscode.window.showInputBox({ prompt: 'Attention head', value: '0',
      validateInput: (v) => /^\d+$/.test(v) ? undefined : 'a head index (0, 1, ...)' });
    if (h === undefined) return;
    args.head = Number(h);
  } else args.bins = 64;
  try {
    let body: TensorReply;
    if (supportsTensorRequest(session.id)) {
      body = validateTensorReply(await session.customRequest('layerscopeTensor', args), kind);
    } else if (kind === 'histogram') {
      log.appendLine(`[tensor] adapter does not advertise supportsLayerscopeTensor; using evaluate hist(${what}, ${args.bins})`);
      body = await histogramByEvaluate(session, what, args.bins ?? 64, args.frameId, arg?.variable?.value);
    } else {
      throw new Error('this adapter does not serve the layerscopeTensor request (capability supportsLayerscopeTensor), which heatmaps need');
    }
    const panel = vscode.window.createWebviewPanel('layerscope.tensor', `${what} ${kind}`, vscode.ViewColumn.Beside, { enableScripts: false });
    panel.webview.html = tensorHtml(what, kind, body, args.head, panel.webview.cspSource);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    log.appendLine(`[tensor] ${msg}`);
    void vscode.window.showErrorMessage(`layerscope: ${kind} of ${what}: ${msg}`);
  }
}
