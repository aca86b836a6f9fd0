/* launch.ts: completes a `layerscope` launch or attach configuration before VS Code starts the
 * debug adapter. Pure (no `vscode` import) so the unit tests run under plain node; the
 * DebugConfigurationProvider in debug.ts passes in what it knows about the editor.
 *
 * Two targets (docs/debugging.md): a model config.json run in the engine (`config`), and the
 * user's PyTorch program run with the agent (`program` or `module`; `attach` with `connect`).
 *
 * Cases: F5 with no launch.json gives an empty configuration (VS Code only asks us when
 * layerscope is the debugger it picked or the user chose, so a Python launch.json keeps F5):
 * on a JSON file it becomes a launch of that file on a few random tokens, on a Python file a
 * launch of that program. A configuration without `config`, `program` and `module` takes the
 * active file the same way. Arguments the adapter would reject anyway (both tokens and
 * randomTokens, non-integer token ids, args that are not strings, `connect` in a launch) are
 * caught here so the user sees the problem before a process starts; the adapter validates
 * everything again (docs/protocol.md). */

export interface LaunchContext {
  activeFile?: string;        /* fsPath of the active editor's document */
  activeLanguage?: string;    /* its language id */
  workspaceFolder?: string;   /* fsPath of the folder the configuration belongs to */
}

export type LaunchConfig = Record<string, unknown>;

export interface LaunchResolution {
  config?: LaunchConfig;
  error?: string;
}

export const DEFAULT_RANDOM_TOKENS = 8;

function basename(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}

function dirname(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i > 0 ? p.slice(0, i) : i === 0 ? p.slice(0, 1) : '.';
}

function isJson(ctx: LaunchContext): boolean {
  return !!ctx.activeFile && (ctx.activeLanguage === 'json' || ctx.activeLanguage === 'jsonc' ||
    /\.json$/i.test(ctx.activeFile));
}

function isPython(ctx: LaunchContext): boolean {
  return !!ctx.activeFile && (ctx.activeLanguage === 'python' || /\.pyw?$/i.test(ctx.activeFile));
}

/* The configuration F5 uses for a Python file when there is no launch.json. The program runs
 * in the workspace folder like a script run from the terminal there (the file's own folder
 * when it is outside any workspace). */
export function programConfiguration(file: string, workspaceFolder?: string): LaunchConfig {
  return { type: 'layerscope', request: 'launch', name: `layerscope: ${basename(file)}`, program: file,
    cwd: workspaceFolder ?? dirname(file) };
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/* The program target's arguments (launch): program | module, args, env, python. */
function checkProgram(cfg: LaunchConfig): string | undefined {
  if (cfg.program !== undefined && cfg.module !== undefined)
    return 'layerscope: give either "program" (a .py file) or "module", not both.';
  for (const k of ['program', 'module', 'python'])
    if (cfg[k] !== undefined && (typeof cfg[k] !== 'string' || cfg[k] === ''))
      return `layerscope: "${k}" must be a non-empty string.`;
  if (cfg.args !== undefined && !isStringArray(cfg.args))
    return 'layerscope: "args" must be an array of strings (the program\'s command-line arguments).';
  if (cfg.env !== undefined) {
    const e = cfg.env;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'layerscope: "env" must be an object of strings.';
    const bad = Object.entries(e).find(([k, v]) => typeof v !== 'string' || k === '' || k.includes('='));
    if (bad) return `layerscope: "env.${bad[0]}" must be a string (and the name without '=').`;
  }
  if (cfg.connect !== undefined)
    return 'layerscope: "connect" belongs to an attach configuration ("request": "attach").';
  return undefined;
}

/* The engine target's arguments: config | model (a model directory), prompt | tokens | randomTokens. */
function checkEngine(cfg: LaunchConfig, ctx: LaunchContext): string | undefined {
  if (cfg.model !== undefined) {
    if (cfg.config !== undefined) return 'layerscope: give either "model" (a model directory) or "config", not both.';
    if (typeof cfg.model !== 'string' || cfg.model === '') return 'layerscope: "model" must be a path (string).';
  } else if (cfg.config === undefined || cfg.config === '') {
    if (!isJson(ctx)) return 'layerscope: the launch configuration has no "config" and no JSON file is active.';
    cfg.config = ctx.activeFile;
  }
  if (cfg.model === undefined && typeof cfg.config !== 'string') return 'layerscope: "config" must be a path (string).';
  if (cfg.tokens !== undefined && cfg.randomTokens !== undefined)
    return 'layerscope: give either "tokens" or "randomTokens", not both.';
  if (cfg.tokens !== undefined) {
    const t = cfg.tokens;
    if (!Array.isArray(t) || t.length === 0) return 'layerscope: "tokens" must be a non-empty array of token ids.';
    const isId = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 2147483647;
    if (Array.isArray(t[0])) { /* a batch: rows of token ids, right-padded by the adapter */
      const bad = t.findIndex((r: unknown) => !Array.isArray(r) || r.length === 0 || !r.every(isId));
      if (bad >= 0) return `layerscope: tokens[${bad}] is not a non-empty array of token ids.`;
    } else {
      const bad = t.findIndex((x: unknown) => !isId(x));
      if (bad >= 0) return `layerscope: tokens[${bad}] is not a token id (an integer from 0 to 2^31-1).`;
    }
  }
  if (cfg.randomTokens !== undefined) {
    const r = cfg.randomTokens;
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 1 || r > 1048576)
      return 'layerscope: "randomTokens" must be an integer from 1 to 1048576.';
  }
  if (cfg.prompt !== undefined) {
    if (typeof cfg.prompt !== 'string' || cfg.prompt === '') return 'layerscope: "prompt" must be a non-empty string.';
    if (cfg.tokens !== undefined || cfg.randomTokens !== undefined)
      return 'layerscope: give one of "prompt", "tokens" and "randomTokens".';
    return undefined; /* the adapter encodes it with the model's tokenizer */
  }
  if (cfg.tokens === undefined && cfg.randomTokens === undefined) cfg.randomTokens = DEFAULT_RANDOM_TOKENS;
  return undefined;
}

export function resolveLaunch(input: LaunchConfig, ctx: LaunchContext): LaunchResolution {
  let cfg: LaunchConfig = { ...input };
  if (!cfg.type && !cfg.request && !cfg.name) {
    if (isPython(ctx)) return { config: programConfiguration(ctx.activeFile as string, ctx.workspaceFolder) };
    if (!isJson(ctx))
      return { error: 'layerscope: open a model config.json or a PyTorch program (.py), or add a launch configuration, to start debugging.' };
    cfg = { type: 'layerscope', request: 'launch', name: `layerscope: ${basename(ctx.activeFile as string)}`,
      config: ctx.activeFile, randomTokens: DEFAULT_RANDOM_TOKENS, seed: 0 };
  }
  if (cfg.request === 'attach') {
    if (typeof cfg.connect !== 'string' || cfg.connect === '')
      return { error: 'layerscope: attach needs "connect": the socket path that layerscope_agent.listen() printed in the program.' };
    if (cfg.program !== undefined || cfg.module !== undefined)
      return { error: 'layerscope: "program" and "module" belong to a launch configuration; attach takes "connect".' };
    return { config: cfg };
  }
  if (cfg.request !== undefined && cfg.request !== 'launch')
    return { error: `layerscope: request '${String(cfg.request)}' is not supported; use "launch" (or "attach" with "connect").` };
  // A launch without a target of its own takes the active file: a .py is the program.
  if (cfg.program === undefined && cfg.module === undefined && (cfg.config === undefined || cfg.config === '') &&
      !isJson(ctx) && isPython(ctx))
    cfg.program = ctx.activeFile;
  const err = cfg.program !== undefined || cfg.module !== undefined ? checkProgram(cfg) : checkEngine(cfg, ctx);
  if (err) return { error: err };
  if (cfg.cwd === undefined && ctx.workspaceFolder) cfg.cwd = ctx.workspaceFolder;
  return { config: cfg };
}

/* A path as launch.json spells it: relative to ${workspaceFolder} when it is inside. */
function inWorkspace(file: string, folder?: string): string {
  if (folder && file.startsWith(folder.replace(/[\\/]+$/, '') + '/'))
    return '${workspaceFolder}' + file.slice(folder.replace(/[\\/]+$/, '').length);
  return file;
}

/* What the launch.json generator and the Run and Debug picker offer: with a Python file
 * active, a launch of that program first; then the forward pass of a config (package.json's
 * initialConfigurations). */
export function initialConfigurations(ctx: LaunchContext = {}): LaunchConfig[] {
  const out: LaunchConfig[] = [];
  if (isPython(ctx)) {
    const file = ctx.activeFile as string;
    out.push({ type: 'layerscope', request: 'launch', name: `layerscope: ${basename(file)}`,
      program: inWorkspace(file, ctx.workspaceFolder) });
  }
  out.push({
    type: 'layerscope', request: 'launch', name: 'layerscope: debug forward pass',
    config: '${workspaceFolder}/config.json',
    randomTokens: DEFAULT_RANDOM_TOKENS, seed: 0, stopOnEntry: false,
  });
  return out;
}

/* The Run and Debug picker's layerscope entries: what F5 without launch.json would start for
 * the active file (nothing for other files). */
export function pickerConfigurations(ctx: LaunchContext): LaunchConfig[] {
  const r = resolveLaunch({}, ctx);
  return r.config ? [r.config] : [];
}
