/* profile.ts: the Profile view. Renders the output of `layerscope profile CONFIG --format
 * json` (schema layerscope.profile/1, docs/profile.md) and the SVG flame graph the same run
 * wrote (--flame) as one page: the pass's figures and the machine's peaks, the time per kind
 * of work as bars, the notes, the modules with the most self time (with their roofline
 * position), then the flame graph inline, so its boxes keep their tooltips. Also what to
 * profile: a config.json, or a model directory holding one (and weights, which are then
 * used). Pure, no `vscode` import. */
import * as path from 'path';
import { esc, page, parseVersioned } from './html';

export interface ProfileModule {
  name: string; type: string; depth: number; kind: string; calls: number;
  total_ns: number; self_ns: number; flops: number; gflops: number; gbps: number; bound: string; roof_frac: number;
}

export interface Profile {
  schema: string; config: string; architecture: string; weights: string; seq: number; threads: number; compute: string;
  wall_ns: number; total_ns: number; cpu: string;
  peaks: { gflops: number; gbps: number; given: boolean; ridge: number };
  kinds: { kind: string; self_ns: number; flops: number }[];
  modules: ProfileModule[];
  notes: string[];
  next_tokens: string;
}

export function parseProfile(text: string): Profile {
  const p = parseVersioned(text, 'profile', 'layerscope.profile/1');
  if (typeof p.total_ns !== 'number' || !Array.isArray(p.modules) || !Array.isArray(p.kinds))
    throw new Error('profile: "total_ns", "modules" or "kinds" is missing');
  return p as unknown as Profile;
}

/* What to profile: the config, and weights when the target is a model directory that has
 * them (safetensors, a sharded index, GGUF). */
export function profileTarget(fsPath: string, isDir: boolean, list: (dir: string) => string[]):
  { config?: string; weights?: string; error?: string } {
  if (!isDir) return { config: fsPath };
  const names = list(fsPath);
  if (!names.includes('config.json')) return { error: `${fsPath} holds no config.json` };
  const hasWeights = names.some((n) => n.endsWith('.safetensors') || n.endsWith('.gguf') || n === 'model.safetensors.index.json');
  return { config: path.join(fsPath, 'config.json'), weights: hasWeights ? fsPath : undefined };
}

export function profileArgs(config: string, weights: string | undefined, tokens: number, flame: string): string[] {
  const a = ['profile', config, '--format', 'json', '--random-tokens', String(tokens), '--flame', flame];
  if (weights) a.push('--weights', weights);
  return a;
}

const ms = (ns: number) => (ns / 1e6).toFixed(3);
const pct = (ns: number, total: number) => (total > 0 ? (100 * ns) / total : 0);

/* The flame graph as inline SVG: layerscope's own output, its XML declaration dropped; any
 * script or event attribute (none is written) refuses the whole graph. */
export function inlineSvg(svg: string): string {
  const s = svg.replace(/^<\?xml[^>]*\?>\s*/, '');
  if (!s.startsWith('<svg') || /<script|\son[a-z]+=/i.test(s)) return '<p class="err">the flame graph was not drawn</p>';
  return `<div class="flamebox">${s.replace('<svg ', '<svg class="flame" ')}</div>`;
}

export function profileHtml(p: Profile, svg: string, title: string, top = 25, cspSource = ''): string {
  const total = p.total_ns;
  const kinds = p.kinds.map((k) => {
    const share = pct(k.self_ns, total);
    return `<tr><td>${esc(k.kind)}</td><td class="barcell"><span class="bar" style="width:${Math.min(100, share).toFixed(2)}%"></span></td>` +
      `<td class="num">${share.toFixed(1)}%</td><td class="num">${ms(k.self_ns)}</td>` +
      `<td class="num">${(k.flops / 1e9).toFixed(3)}</td></tr>`;
  }).join('\n');
  const rows = p.modules.slice(0, top).map((m) => {
    const share = pct(m.self_ns, total);
    return `<tr><td>${esc(m.name === '' ? '(root)' : m.name)}</td><td class="barcell"><span class="bar" style="width:${Math.min(100, share).toFixed(2)}%"></span></td>` +
      `<td class="num">${share.toFixed(1)}%</td><td class="num">${ms(m.self_ns)}</td><td class="num">${ms(m.total_ns)}</td>` +
      `<td class="num">${(m.flops / 1e9).toFixed(3)}</td><td class="num">${m.gflops.toFixed(2)}</td><td class="num">${m.gbps.toFixed(2)}</td>` +
      `<td>${esc(m.bound)}</td><td class="num">${m.bound === '-' ? '' : (100 * m.roof_frac).toFixed(0) + '%'}</td><td>${esc(m.kind)}</td></tr>`;
  }).join('\n');
  const notes = p.notes.map((n) => `<li>${esc(n)}</li>`).join('');
  const peaks = p.peaks.gflops > 0
    ? `${p.peaks.gflops.toFixed(1)} GFLOP/s, ${p.peaks.gbps.toFixed(1)} GB/s (${p.peaks.given ? 'given' : 'measured'}); ridge ${p.peaks.ridge.toFixed(1)} FLOP/byte`
    : 'not measured';
  const body = `<h1>${esc(p.architecture)} <span class="muted">S=${esc(p.seq)}, ${esc(p.threads)} threads, ${esc(p.compute)}</span></h1>
<table class="figures">
<tr><th>pass</th><td class="num" id="total">${ms(total)} ms</td><td class="muted">${p.wall_ns > 0 ? ((p.seq * 1e9) / p.wall_ns).toFixed(1) : '?'} tokens/s</td></tr>
<tr><th>weights</th><td colspan="2">${esc(p.weights || 'random (seeded)')}</td></tr>
<tr><th>machine</th><td colspan="2">${esc(p.cpu || 'unknown CPU')}; peaks ${esc(peaks)}</td></tr>
</table>
${notes ? `<h2>Notes</h2><ul class="notes">${notes}</ul>` : ''}
<h2>Time per kind of work</h2>
<table class="kinds"><tr><th>kind</th><th>share of the pass</th><th class="num">share</th><th class="num">self ms</th><th class="num">GFLOP</th></tr>
${kinds}
</table>
<h2>Flame graph</h2>
<style>svg.flame text { fill: #222; font-size: 12px; } svg.flame { background: #fff; max-width: none; }
.flamebox { overflow-x: auto; }</style>
${inlineSvg(svg)}
<h2>Modules by self time (top ${Math.min(top, p.modules.length)} of ${p.modules.length})</h2>
<table class="modules"><tr><th>module</th><th>share of the pass</th><th class="num">self</th><th class="num">self ms</th><th class="num">total ms</th>` +
`<th class="num">GFLOP</th><th class="num">GFLOP/s</th><th class="num">GB/s</th><th>bound</th><th class="num">roof</th><th>kind</th></tr>
${rows}
</table>
${p.next_tokens ? `<p class="muted">${esc(p.next_tokens)}</p>` : ''}`;
  return page(title, body, cspSource);
}
