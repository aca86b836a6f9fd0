/* launch.ts: completes a `layerscope` launch configuration before VS Code starts the debug
 * adapter. Pure (no `vscode` import) so the unit tests run under plain node; the
 * DebugConfigurationProvider in debug.ts passes in what it knows about the editor.
 *
 * Cases: F5 with no launch.json gives an empty configuration: it becomes a launch of the
 * active JSON file on a few random tokens. A configuration without `config` takes the active
 * file. Arguments the adapter would reject anyway (both tokens and randomTokens, non-integer
 * token ids) are caught here so the user sees the problem before a process starts; the
 * adapter validates everything again (docs/protocol.md). */

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

function isJson(ctx: LaunchContext): boolean {
  return !!ctx.activeFile && (ctx.activeLanguage === 'json' || ctx.activeLanguage === 'jsonc' ||
    /\.json$/i.test(ctx.activeFile));
}

export function resolveLaunch(input: LaunchConfig, ctx: LaunchContext): LaunchResolution {
  const cfg: LaunchConfig = { ...input };
  if (!cfg.type && !cfg.request && !cfg.name) {
    if (!isJson(ctx))
      return { error: 'layerscope: open a model config.json (or add a launch configuration) to start debugging.' };
    cfg.type = 'layerscope';
    cfg.request = 'launch';
    cfg.name = `layerscope: ${basename(ctx.activeFile as string)}`;
    cfg.config = ctx.activeFile;
    cfg.randomTokens = DEFAULT_RANDOM_TOKENS;
    cfg.seed = 0;
  }
  if (cfg.request !== undefined && cfg.request !== 'launch')
    return { error: `layerscope: request '${String(cfg.request)}' is not supported; the model runs inside the adapter, use "launch".` };
  if (cfg.config === undefined || cfg.config === '') {
    if (!isJson(ctx)) return { error: 'layerscope: the launch configuration has no "config" and no JSON file is active.' };
    cfg.config = ctx.activeFile;
  }
  if (typeof cfg.config !== 'string') return { error: 'layerscope: "config" must be a path (string).' };
  if (cfg.tokens !== undefined && cfg.randomTokens !== undefined)
    return { error: 'layerscope: give either "tokens" or "randomTokens", not both.' };
  if (cfg.tokens !== undefined) {
    const t = cfg.tokens;
    if (!Array.isArray(t) || t.length === 0) return { error: 'layerscope: "tokens" must be a non-empty array of token ids.' };
    const bad = t.findIndex((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 2147483647);
    if (bad >= 0) return { error: `layerscope: tokens[${bad}] is not a token id (an integer from 0 to 2^31-1).` };
  }
  if (cfg.randomTokens !== undefined) {
    const r = cfg.randomTokens;
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 1 || r > 1048576)
      return { error: 'layerscope: "randomTokens" must be an integer from 1 to 1048576.' };
  }
  if (cfg.tokens === undefined && cfg.randomTokens === undefined) cfg.randomTokens = DEFAULT_RANDOM_TOKENS;
  if (cfg.cwd === undefined && ctx.workspaceFolder) cfg.cwd = ctx.workspaceFolder;
  return { config: cfg };
}

/* What the launch.json generator offers (also package.json's initialConfigurations). */
export function initialConfigurations(): LaunchConfig[] {
  return [{
    type: 'layerscope', request: 'launch', name: 'layerscope: debug forward pass',
    config: '${workspaceFolder}/config.json', randomTokens: DEFAULT_RANDOM_TOKENS, seed: 0, stopOnEntry: false,
  }];
}
