/* Unit tests of the Profile view (profile.ts): the page from a hand-made profile (bars are
 * the kinds' shares of the pass, rows most self time first, text escaped, no script, the
 * flame graph inline without its XML declaration and refused when it carries a script), what
 * a config or a model directory profiles, the arguments, and, when a built layerscope is
 * available, the page from a real `layerscope profile --format json --flame` run, whose kind
 * shares sum to the pass. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inlineSvg, parseProfile, profileArgs, profileHtml, profileTarget } from '../src/profile';

const mod = (name: string, self: number, total: number, kind: string) => ({
  name, type: 'Linear', depth: 1, kind, calls: 1, total_ns: total, self_ns: self, flops: 2e9, gflops: 1.5, gbps: 0.5,
  bound: 'compute', roof_frac: 0.25 });
const small = {
  schema: 'layerscope.profile/1', config: '/x/config.json', architecture: 'Toy<Model>', weights: '', seq: 16, threads: 2,
  compute: 'fp32', wall_ns: 4100000, total_ns: 4000000, cpu: 'Some CPU',
  peaks: { gflops: 100, gbps: 10, given: false, ridge: 10 },
  kinds: [{ kind: 'attention', self_ns: 1000000, flops: 1e9 }, { kind: 'mlp', self_ns: 3000000, flops: 3e9 }],
  modules: [mod('b <mlp>', 3000000, 3000000, 'mlp'), mod('a', 1000000, 4000000, 'attention')],
  notes: ['the MLP is 75% of the pass <b>'], next_tokens: 'top-5 next tokens: 1 (0.5)',
};
const SVG = '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10"><g><title>a</title><rect x="0"/></g></svg>\n';

test('profile page: kind bars are shares of the pass, modules in order, text escaped, flame graph inline', () => {
  const html = profileHtml(parseProfile(JSON.stringify(small)), SVG, 'Profile');
  const kindTable = html.split('<table class="kinds">')[1].split('</table>')[0];
  const widths = [...kindTable.matchAll(/class="bar" style="width:([\d.]+)%"/g)].map((x) => Number(x[1]));
  assert.deepEqual(widths, [25, 75]);
  const names = [...html.split('<table class="modules">')[1].matchAll(/<tr><td>([^<]*)<\/td>/g)].map((x) => x[1]);
  assert.deepEqual(names, ['b &lt;mlp&gt;', 'a']);
  assert.ok(html.includes('Toy&lt;Model&gt;'));
  assert.ok(html.includes('75% of the pass &lt;b&gt;'));
  assert.match(html, /id="total">4\.000 ms</);
  assert.ok(html.includes('<div class="flamebox"><svg class="flame" xmlns='));
  assert.ok(!html.includes('<?xml'));
  assert.ok(!/<script/i.test(html));
  assert.match(html, /Content-Security-Policy/);
  assert.match(inlineSvg('<svg><script>alert(1)</script></svg>'), /was not drawn/);
  assert.match(inlineSvg('<svg onload="x()"></svg>'), /was not drawn/);
});

test('profile parsing rejects other schemas and non-JSON with a message', () => {
  assert.throws(() => parseProfile('nope'), /not JSON/);
  assert.throws(() => parseProfile(JSON.stringify({ ...small, schema: 'layerscope.profile/2' })), /newer/);
  assert.throws(() => parseProfile(JSON.stringify({ ...small, schema: 'layerscope.summary/1' })), /unexpected schema/);
  assert.throws(() => parseProfile(JSON.stringify({ ...small, modules: null })), /missing/);
});

test('what a config or a model directory profiles, and the arguments', () => {
  assert.deepEqual(profileTarget('/m/config.json', false, () => []), { config: '/m/config.json' });
  assert.deepEqual(profileTarget('/m', true, () => ['config.json', 'model.safetensors']), { config: '/m/config.json', weights: '/m' });
  assert.deepEqual(profileTarget('/m', true, () => ['config.json', 'README.md']), { config: '/m/config.json', weights: undefined });
  assert.match(profileTarget('/m', true, () => ['x.json']).error ?? '', /holds no config\.json/);
  assert.deepEqual(profileArgs('/m/config.json', '/m', 64, '/t/f.svg'),
    ['profile', '/m/config.json', '--format', 'json', '--random-tokens', '64', '--flame', '/t/f.svg', '--weights', '/m']);
});

test('profile page from a real layerscope profile run', (t) => {
  const bin = process.env.LAYERSCOPE;
  if (!bin || !fs.existsSync(bin)) { t.skip('LAYERSCOPE not set to a built binary'); return; }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-ext-profile-'));
  try {
    const cfg = path.join(dir, 'config.json');
    fs.writeFileSync(cfg, JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 32,
      intermediate_size: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2, vocab_size: 96 }));
    const flame = path.join(dir, 'f.svg');
    const out = execFileSync(bin, [...profileArgs(cfg, undefined, 16, flame), '--no-peaks', '--threads', '1']).toString();
    const p = parseProfile(out);
    assert.equal(p.kinds.reduce((s, k) => s + k.self_ns, 0), p.total_ns);
    const html = profileHtml(p, fs.readFileSync(flame, 'utf8'), 'real');
    assert.ok(html.includes('LlamaForCausalLM'));
    assert.ok(html.includes('model.layers.0.mlp'));
    assert.ok((html.match(/<rect /g) ?? []).length > 20, 'the flame graph has its boxes');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
