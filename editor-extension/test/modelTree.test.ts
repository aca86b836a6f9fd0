/* Unit tests of modelTree.ts: nesting rebuilt from the flat pre-order list of the
 * `layerscope/modelTree` reply, malformed replies rejected with the field named, labels. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { buildLayerTree, describeNode, formatCount, ModuleInfo, readingBanner, shortName, validateModelTree } from '../src/modelTree';

const m = (name: string, depth: number, params = 0, type = 'Module'): ModuleInfo =>
  ({ name, depth, params, type, output_shape: ['B', 'S', 8], line: null });

test('nesting follows depth in pre-order', () => {
  const flat = [m('', 0), m('transformer', 1), m('transformer.wte', 2), m('transformer.h', 2),
    m('transformer.h.0', 3), m('transformer.h.0.attn', 4), m('transformer.h.1', 3), m('lm_head', 1)];
  const roots = buildLayerTree(flat);
  assert.equal(roots.length, 1);
  const top = roots[0].children.map((c) => c.module.name);
  assert.deepEqual(top, ['transformer', 'lm_head']);
  const h = roots[0].children[0].children[1];
  assert.equal(h.module.name, 'transformer.h');
  assert.deepEqual(h.children.map((c) => c.module.name), ['transformer.h.0', 'transformer.h.1']);
  assert.deepEqual(h.children[0].children.map((c) => c.module.name), ['transformer.h.0.attn']);
  assert.equal(h.children[1].children.length, 0);
});

test('a depth jump attaches to the deepest open ancestor; several roots are kept', () => {
  const roots = buildLayerTree([m('a', 0), m('a.b.c', 3), m('z', 0)]);
  assert.deepEqual(roots.map((r) => r.module.name), ['a', 'z']);
  assert.equal(roots[0].children[0].module.name, 'a.b.c');
});

test('validation names the bad field and accepts null', () => {
  assert.equal(validateModelTree(null), null);
  assert.throws(() => validateModelTree({ modules: 3 }), /modules is not an array/);
  assert.throws(() => validateModelTree({ modules: [{ name: 'x', depth: -1 }] }), /modules\[0\]\.depth/);
  assert.throws(() => validateModelTree({ modules: [{ depth: 0 }] }), /modules\[0\]\.name/);
  assert.throws(() => validateModelTree({ modules: [{ name: '', depth: 0, output_shape: 5 }] }), /output_shape/);
  const ok = validateModelTree({ model_type: 'gpt2', architecture: 'GPT2LMHeadModel', params: 5, modules: [m('', 0)] });
  assert.equal(ok?.modules.length, 1);
  assert.equal(ok?.reading, 'exact');
  assert.equal(ok && readingBanner(ok), undefined);
});

test('a reading that is not exact is said above the tree', () => {
  const g = validateModelTree({ model_type: 'qwen3_next', architecture: 'x', params: 5, modules: [m('', 0)],
    reading: 'generic', reading_note: 'not modelled' });
  assert.equal(g?.reading, 'generic');
  assert.match(g ? readingBanner(g) ?? '' : '', /^Generic llama-style reading, not qwen3_next's/);
  const n = validateModelTree({ model_type: 'qwen3_next', architecture: '', params: 0, modules: [],
    reading: 'none', reading_note: 'model_type "qwen3_next" is a transformers model type that layerscope does not model yet' });
  assert.match(n ? readingBanner(n) ?? '' : '', /does not model yet/);
});

test('labels: short names, counts, shapes, share', () => {
  assert.equal(shortName('model.layers.0.mlp'), 'mlp');
  assert.equal(shortName('model.layers.12'), 'layers.12');
  assert.equal(shortName(''), '(root)');
  assert.equal(formatCount(124439808), '124.4M');
  assert.equal(formatCount(6738415616), '6.74B');
  assert.equal(formatCount(999), '999');
  const d = describeNode({ name: 'h.0.mlp', type: 'GPT2MLP', params: 250, depth: 2, output_shape: ['B', 'S', 768], line: 4 }, 1000);
  assert.equal(d.label, 'mlp');
  assert.match(d.description, /GPT2MLP\s+\[B, S, 768\]\s+250 params/);
  assert.match(d.tooltip, /25\.0%/);
  assert.match(d.tooltip, /line 5/);
  // the server sends shapes as strings (docs/lsp.md); "" when the module has none
  const s = describeNode({ name: 'lm_head', type: 'Linear', params: 0, depth: 1, output_shape: '[B, S, 1000]', line: null }, 10);
  assert.equal(s.description, 'Linear  [B, S, 1000]');
  const root = describeNode({ name: '', type: 'GPT2LMHeadModel', params: 1500, depth: 0, output_shape: '[B, S, 1000]' }, 1500);
  assert.equal(root.label, 'GPT2LMHeadModel');
  assert.equal(root.description, '[B, S, 1000]  1.5K params');
  assert.equal(describeNode({ name: 'h', type: 'ModuleList', params: 0, depth: 1, output_shape: '' }, 10).description, 'ModuleList');
});

test('labels of modules a running program reports: no parameter figures, no repeated class', () => {
  const d = describeNode({ name: 'encoder.0', type: 'Linear', depth: 2, line: null }, 0);
  assert.equal(d.label, 'encoder.0');
  assert.equal(d.description, 'Linear');
  assert.equal(d.tooltip, 'encoder.0\nLinear', 'no "0 parameters" for a count that is unknown');
  // a second root is named by its class
  assert.equal(describeNode({ name: 'MSELoss', type: 'MSELoss', depth: 0 }, 0).description, '');
});
