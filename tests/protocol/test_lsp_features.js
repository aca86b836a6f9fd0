// test_lsp_features.js: the language features on model configs through the real client
// library (vscode-languageserver-protocol): diagnostics (unknown keys with did-you-mean,
// smells with codeDescription and relatedInformation), hovers, code actions applied with an
// independent TextDocument implementation, completion of keys and enumerated values,
// inlay hints, code lens, document symbols and layerscope/modelTree. Every expected number is
// computed here from the config's own values (or is a published parameter count), never
// copied from the server's output; every server message is checked against the LSP
// meta-model by the harness. Positions, encodings, settings and versioning are in
// test_lsp_features_sync.js.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { TextDocument } = require('vscode-languageserver-textdocument');
const h = require('./lib/harness');
const F = require('./lib/features');

const LLAMA7B = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'configs', 'llama-2-7b-hf.config.json'), 'utf8');

test('diagnostics: typo with did-you-mean, smells with rule ids, links and related keys', async () => {
  const s = await F.start();
  // A typo'd key, a vocabulary one off a multiple of 64, heads not divisible by KV heads.
  const text = LLAMA7B.replace('"hidden_act"', '"hiden_act"').replace('"vocab_size": 32000', '"vocab_size": 32001')
    .replace('"num_key_value_heads": 32', '"num_key_value_heads": 5');
  const uri = 'file:///w/llama/config.json';
  const p = F.open(s, uri, text);
  const d = await p;
  assert.strictEqual(d.version, 1);
  const byCode = (c) => d.diagnostics.filter((x) => x.code === c);
  const typo = byCode('LS003');
  assert.strictEqual(typo.length, 1, JSON.stringify(d.diagnostics));
  assert.match(typo[0].message, /did you mean "hidden_act"/);
  assert.deepStrictEqual(typo[0].range, F.rangeOf(text, '"hiden_act"'));
  for (const x of d.diagnostics) {
    assert.strictEqual(x.source, 'layerscope');
    assert.match(x.codeDescription.href, new RegExp(`rules\\.md#${x.code}$`));
  }
  const vocab = byCode('LS106');
  assert.strictEqual(vocab.length, 1);
  assert.deepStrictEqual(vocab[0].range, F.rangeOf(text, '32001'));
  const kv = byCode('LS102');
  assert.strictEqual(kv.length, 1, 'heads 32 are not divisible by 5 KV heads');
  assert.strictEqual(kv[0].severity, 1);
  const rel = kv[0].relatedInformation.map((r) => r.location.range);
  assert.ok(rel.some((r) => r.start.line === F.rangeOf(text, '"num_attention_heads"').start.line), JSON.stringify(rel));
  await F.finish(s);
});

test('code actions: fixes as exact workspace edits that leave valid, clean JSON', async () => {
  const s = await F.start({ workspace: { configuration: true, workspaceEdit: { documentChanges: true } } });
  const text = LLAMA7B.replace('"hidden_act"', '"hiden_act"').replace('"vocab_size": 32000', '"vocab_size": 32001')
    .replace('"use_cache": true', '"use_cache": true, "gradient_checkpointing": true');
  const uri = 'file:///w/fix/config.json';
  const d = await F.open(s, uri, text);
  const all = { start: { line: 0, character: 0 }, end: { line: 999, character: 0 } };
  const actions = await s.conn.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: all, context: { diagnostics: d.diagnostics } });
  const find = (re) => actions.find((a) => re.test(a.title));
  const rename = actions.find((a) => a.diagnostics[0].code === 'LS003');
  assert.ok(rename, JSON.stringify(actions.map((a) => a.title)));
  assert.strictEqual(rename.kind, 'quickfix');
  assert.strictEqual(rename.isPreferred, true);
  const apply = (a) => {
    const dc = a.edit.documentChanges[0];
    assert.strictEqual(dc.textDocument.version, 1);
    return TextDocument.applyEdits(TextDocument.create(uri, 'json', 1, text), dc.edits);
  };
  const renamed = JSON.parse(apply(rename));
  assert.strictEqual(renamed.hidden_act, 'silu');
  assert.ok(!('hiden_act' in renamed));
  const round = actions.find((a) => a.diagnostics[0].code === 'LS106');
  assert.ok(round, 'a fix rounding the vocabulary up');
  const v = JSON.parse(apply(round)).vocab_size;
  assert.strictEqual(v, Math.ceil(32001 / 64) * 64);
  const cache = actions.find((a) => a.diagnostics[0].code === 'LS108');
  assert.ok(cache, 'a fix for use_cache with gradient checkpointing');
  assert.strictEqual(JSON.parse(apply(cache)).use_cache, false);
  // Only the actions touching the requested range come back; "only" other kinds: none.
  const line = F.rangeOf(text, '"hiden_act"').start.line;
  const narrow = await s.conn.sendRequest('textDocument/codeAction', { textDocument: { uri },
    range: { start: { line, character: 3 }, end: { line, character: 3 } }, context: { diagnostics: [] } });
  assert.deepStrictEqual(narrow.map((a) => a.diagnostics[0].code), ['LS003']);
  const refactor = await s.conn.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: all, context: { diagnostics: [], only: ['refactor'] } });
  assert.deepStrictEqual(refactor, []);
  assert.ok(find(/./));
  await F.finish(s);
});

test('syntax error mid-document: reported with a fix, hovers and checks still work after it', async () => {
  const s = await F.start();
  // A missing comma in the middle, a smell after it.
  const text = LLAMA7B.replace('"hidden_size": 4096,', '"hidden_size": 4096').replace('"vocab_size": 32000', '"vocab_size": 32001');
  const uri = 'file:///w/broken/config.json';
  const d = await F.open(s, uri, text);
  const syn = d.diagnostics.filter((x) => x.code === 'LS001');
  assert.strictEqual(syn.length, 1, JSON.stringify(d.diagnostics));
  assert.ok(d.diagnostics.some((x) => x.code === 'LS106'), 'rules still run after the error');
  const at = F.rangeOf(text, '"num_hidden_layers"').start;
  const hv = await s.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: at.line, character: at.character + 3 } });
  assert.ok(hv && /num_hidden_layers/.test(hv.contents.value), JSON.stringify(hv));
  const actions = await s.conn.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: syn[0].range, context: { diagnostics: syn } });
  const fix = actions.find((a) => a.diagnostics[0].code === 'LS001');
  assert.ok(fix, 'a syntax fix');
  const fixed = TextDocument.applyEdits(TextDocument.create(uri, 'json', 1, text), fix.edit.changes[uri]);
  assert.strictEqual(JSON.parse(fixed).hidden_size, 4096);
  await F.finish(s);
});

test('hover: what a key shapes (Llama-2-70B GQA) and the model summary', async () => {
  const s = await F.start();
  const cfg = JSON.parse(LLAMA7B);
  Object.assign(cfg, { hidden_size: 8192, intermediate_size: 28672, num_attention_heads: 64, num_hidden_layers: 80,
    num_key_value_heads: 8, torch_dtype: 'float16' });
  const text = JSON.stringify(cfg, null, 2);
  const uri = 'file:///w/70b/config.json';
  await F.open(s, uri, text);
  const headDim = cfg.hidden_size / cfg.num_attention_heads;
  const kvDim = cfg.num_key_value_heads * headDim;
  const at = F.rangeOf(text, '"num_key_value_heads"').start;
  const hv = await s.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: at.line, character: at.character + 5 } });
  const md = hv.contents.value;
  assert.strictEqual(hv.contents.kind, 'markdown');
  assert.deepStrictEqual(hv.range, F.rangeOf(text, '"num_key_value_heads"'));
  assert.ok(md.includes(`k_proj.weight\` | \`[${kvDim}, ${cfg.hidden_size}]\` | x ${cfg.num_hidden_layers}`), md);
  // KV cache per token: K and V, every layer, kvDim values of 2 bytes (float16).
  const kvBytes = 2 * cfg.num_hidden_layers * kvDim * 2;
  assert.ok(md.includes(`KV cache: ${(kvBytes / 1024).toFixed(2)} KiB per token`), md);
  // The share of parameters k_proj and v_proj hold.
  assert.match(md, /Shapes [0-9.]+ [MB] parameters \([0-9.]+% of 68\.98 B\)/);
  // The summary on model_type: the published Llama-2-7b count (6,738,415,616).
  const uri7 = 'file:///w/7b/config.json';
  await F.open(s, uri7, LLAMA7B);
  const mt = F.rangeOf(LLAMA7B, '"model_type"').start;
  const sum = await s.conn.sendRequest('textDocument/hover', { textDocument: { uri: uri7 }, position: { line: mt.line, character: mt.character + 1 } });
  assert.match(sum.contents.value, /6,738,415,616/);
  assert.match(sum.contents.value, /FLOPs \/ token/);
  assert.match(sum.contents.value, /bf16 12\.55 GiB/); // 6,738,415,616 x 2 bytes / 2^30
  // Nowhere near a key: null.
  const none = await s.conn.sendRequest('textDocument/hover', { textDocument: { uri: uri7 }, position: { line: 0, character: 0 } });
  assert.strictEqual(none, null);
  await F.finish(s);
});

test('completion: keys of the family with docs, enumerated values, valid insertions', async () => {
  const s = await F.start();
  const text = '{\n  "model_type": "llama",\n  "hid": 4096,\n  "torch_dtype": "",\n  "hidden_act": "si",\n  "rope_scaling": {"type": "", "factor": 2.0},\n  \n  "num_attention_heads": 32\n}\n';
  const uri = 'file:///w/comp/config.json';
  await F.open(s, uri, text);
  const doc = TextDocument.create(uri, 'json', 1, text);
  const at = (needle, delta) => { const r = F.rangeOf(text, needle); return { line: r.start.line, character: r.start.character + delta }; };
  // Inside a partial key: replaces the whole key token, quotes included.
  const keys = await s.conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: at('"hid"', 4) });
  const hs = keys.items.find((i) => i.label === 'hidden_size');
  assert.ok(hs, 'hidden_size offered');
  assert.deepStrictEqual(hs.textEdit.range, F.rangeOf(text, '"hid"'));
  assert.strictEqual(hs.textEdit.newText, '"hidden_size"');
  assert.match(hs.documentation.value, /Default: `4096`/);
  assert.ok(!keys.items.some((i) => i.label === 'num_attention_heads'), 'keys already present are not offered');
  assert.ok(keys.items.some((i) => i.label === 'rms_norm_eps'), 'llama keys');
  assert.ok(!keys.items.some((i) => i.label === 'n_embd'), 'gpt2 keys are not llama keys');
  // Between members: a whole member that keeps the JSON valid.
  const blank = await s.conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: at('  \n  "num_attention_heads"', 2) });
  const rt = blank.items.find((i) => i.label === 'rope_theta');
  const after = JSON.parse(TextDocument.applyEdits(doc, [rt.textEdit]).replace('"hid"', '"hidden_size"'));
  assert.strictEqual(typeof after.rope_theta, 'number');
  // Enumerated values: torch_dtype, hidden_act, rope_scaling type.
  const dt = await s.conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: at('"torch_dtype": ""', 16) });
  assert.ok(['float32', 'float16', 'bfloat16'].every((v) => dt.items.some((i) => i.label === v)), JSON.stringify(dt.items.map((i) => i.label)));
  const bf = dt.items.find((i) => i.label === 'bfloat16');
  assert.strictEqual(JSON.parse(TextDocument.applyEdits(doc, [bf.textEdit]).replace('"hid"', '"h"')).torch_dtype, 'bfloat16');
  const act = await s.conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: at('"si"', 3) });
  assert.ok(act.items.some((i) => i.label === 'silu'));
  assert.deepStrictEqual(act.items.find((i) => i.label === 'silu').textEdit.range, F.rangeOf(text, '"si"'));
  // Right after the ':' trigger with no value yet: an insertion that completes the member.
  const uri2 = 'file:///w/comp2/config.json';
  const t2 = '{"model_type": "llama", "torch_dtype":}';
  await F.open(s, uri2, t2);
  const colon = await s.conn.sendRequest('textDocument/completion', { textDocument: { uri: uri2 }, position: { line: 0, character: t2.length - 1 } });
  const bf2 = colon.items.find((i) => i.label === 'bfloat16');
  assert.strictEqual(JSON.parse(TextDocument.applyEdits(TextDocument.create(uri2, 'json', 1, t2), [bf2.textEdit])).torch_dtype, 'bfloat16');
  const rope = await s.conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: at('"type": ""', 9) });
  assert.ok(['linear', 'dynamic', 'llama3', 'yarn'].every((v) => rope.items.some((i) => i.label === v)), JSON.stringify(rope.items.map((i) => i.label)));
  await F.finish(s);
});

test('nested configs: typos inside text_config / vision_config at their own positions, with fixes', async () => {
  const s = await F.start({ workspace: { configuration: true, workspaceEdit: { documentChanges: true } } });
  // Gemma 3 4B: its language model and vision tower are configured by nested objects.
  const G3 = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'configs', 'families', 'gemma-3-4b-it.config.json'), 'utf8');
  const text = G3.replace('"num_hidden_layers": 34', '"num_hiden_layers": 34').replace('"patch_size": 14', '"patch_sise": 14')
    .replace('"vision_use_head": false', '"vision_use_head": false, "torch_dtype": "bfloat16", "frobnication": 1');
  const uri = 'file:///w/g3/config.json';
  const d = await F.open(s, uri, text);
  const typo = d.diagnostics.filter((x) => x.code === 'LS003');
  const at = (needle) => typo.find((x) => JSON.stringify(x.range) === JSON.stringify(F.rangeOf(text, needle)));
  const layers = at('"num_hiden_layers"');
  assert.ok(layers, JSON.stringify(d.diagnostics));
  assert.match(layers.message, /in text_config .*did you mean "num_hidden_layers"/);
  assert.strictEqual(layers.severity, 2);
  const patch = at('"patch_sise"');
  assert.ok(patch && /in vision_config .*did you mean "patch_size"/.test(patch.message), JSON.stringify(typo));
  // A key no config class reads is a hint; torch_dtype (PretrainedConfig's) is no finding.
  const other = at('"frobnication"');
  assert.ok(other && other.severity === 4, JSON.stringify(typo));
  assert.strictEqual(typo.length, 3, JSON.stringify(typo));
  // The rename lands inside the nested object.
  const all = { start: { line: 0, character: 0 }, end: { line: 999, character: 0 } };
  const actions = await s.conn.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: all, context: { diagnostics: [layers] } });
  const rename = actions.find((a) => a.diagnostics[0].code === 'LS003');
  const fixed = JSON.parse(TextDocument.applyEdits(TextDocument.create(uri, 'json', 1, text), rename.edit.documentChanges[0].edits));
  assert.strictEqual(fixed.text_config.num_hidden_layers, 34);
  assert.ok(!('num_hidden_layers' in fixed));
  await F.finish(s);
});

test('completion: a nested config offers its own keys; a type layerscope does not model only the common ones', async () => {
  const s = await F.start();
  const text = '{\n  "model_type": "gemma3",\n  "text_config": {\n    "hidden_size": 2560,\n    \n    "sliding_window": 1024\n  },\n  \n  "vision_config": {"hidden_size": 1152}\n}\n';
  const uri = 'file:///w/g3c/config.json';
  await F.open(s, uri, text);
  const at = (needle, delta) => { const r = F.rangeOf(text, needle); return { line: r.start.line, character: r.start.character + delta }; };
  const inner = await s.conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: at('    \n    "sliding_window"', 4) });
  const labels = inner.items.map((i) => i.label);
  // Gemma3TextConfig's keys, not the outer Gemma3Config's, and none already written.
  assert.ok(labels.includes('rope_local_base_freq') && labels.includes('num_hidden_layers'), JSON.stringify(labels));
  assert.ok(!labels.includes('mm_tokens_per_image') && !labels.includes('hidden_size') && !labels.includes('sliding_window'), JSON.stringify(labels));
  const nl = inner.items.find((i) => i.label === 'num_hidden_layers');
  const after = JSON.parse(TextDocument.applyEdits(TextDocument.create(uri, 'json', 1, text), [nl.textEdit]));
  assert.strictEqual(typeof after.text_config.num_hidden_layers, 'number');
  // At the top level: the outer keys, never a dotted nested path.
  const outer = await s.conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: at('  \n  "vision_config"', 2) });
  const ol = outer.items.map((i) => i.label);
  assert.ok(ol.includes('mm_tokens_per_image'), JSON.stringify(ol));
  assert.ok(!ol.some((l) => l.includes('.')), JSON.stringify(ol));
  // A model_type layerscope does not model: PretrainedConfig's keys only, no llama keys.
  const uri2 = 'file:///w/unknown/config.json';
  const t2 = '{\n  "model_type": "frobnicator",\n  "hid": 4096,\n  \n  "num_layers": 2\n}\n';
  await F.open(s, uri2, t2);
  for (const pos of [{ line: 2, character: 4 }, { line: 3, character: 2 }]) {
    const r = await s.conn.sendRequest('textDocument/completion', { textDocument: { uri: uri2 }, position: pos });
    const l = r.items.map((i) => i.label);
    assert.ok(l.includes('torch_dtype') && l.includes('architectures'), JSON.stringify(l));
    for (const k of ['hidden_size', 'intermediate_size', 'num_attention_heads', 'rms_norm_eps', 'rope_theta', 'vocab_size'])
      assert.ok(!l.includes(k), `${k} is llama's, not frobnicator's: ${JSON.stringify(l)}`);
  }
  await F.finish(s);
});

test('inlay hints, code lens, document symbols, layerscope/modelTree', async () => {
  const s = await F.start();
  const uri = 'file:///w/7b/config.json';
  await F.open(s, uri, LLAMA7B);
  const cfg = JSON.parse(LLAMA7B);
  const hints = await s.conn.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 999, character: 0 } } });
  const hintAt = (needle) => hints.find((x) => x.position.line === F.rangeOf(LLAMA7B, needle).start.line);
  assert.strictEqual(hintAt('"num_attention_heads"').label, `head_dim ${cfg.hidden_size / cfg.num_attention_heads}`);
  assert.strictEqual(hintAt('"model_type"').label, '6.74 B params');
  const valEnd = F.rangeOf(LLAMA7B, '"llama"').end;
  assert.deepStrictEqual(hintAt('"model_type"').position, valEnd);
  // A range that covers one line gets that line's hints only.
  const l = F.rangeOf(LLAMA7B, '"num_attention_heads"').start.line;
  const one = await s.conn.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: l, character: 0 }, end: { line: l + 1, character: 0 } } });
  assert.strictEqual(one.length, 1);
  const lens = await s.conn.sendRequest('textDocument/codeLens', { textDocument: { uri } });
  assert.strictEqual(lens.length, 1);
  assert.strictEqual(lens[0].range.start.line, 0);
  assert.match(lens[0].command.title, /^6\.74 B params · weights 12\.55 GiB bf16 · KV 512\.00 KiB\/token/); // 2 x 32 x 4096 x 2 B
  const syms = await s.conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri } });
  assert.deepStrictEqual(syms.map((x) => x.name), Object.keys(cfg));
  const arch = syms.find((x) => x.name === 'architectures');
  assert.strictEqual(arch.kind, 18);
  assert.strictEqual(arch.children.length, 1);
  const tree = await s.conn.sendRequest('layerscope/modelTree', { textDocument: { uri } });
  assert.strictEqual(tree.model_type, 'llama');
  assert.strictEqual(tree.architecture, 'LlamaForCausalLM');
  assert.strictEqual(tree.params, 6738415616);
  const q = tree.modules.find((m) => m.name === 'model.layers.0.self_attn.q_proj');
  assert.ok(q, 'upstream state_dict names');
  assert.strictEqual(q.params, cfg.hidden_size * cfg.hidden_size);
  assert.strictEqual(q.output_shape, `[B, S, ${cfg.hidden_size}]`);
  assert.strictEqual(tree.modules[0].depth, 0);
  assert.strictEqual(tree.modules.filter((m) => /^model\.layers\.\d+$/.test(m.name)).length, cfg.num_hidden_layers);
  const emb = tree.modules.find((m) => m.name === 'model.embed_tokens');
  assert.strictEqual(emb.line, F.rangeOf(LLAMA7B, '"vocab_size"').start.line);
  await F.finish(s);
});

test('a JSON file that is not a model config gets nothing; real configs get no errors', async () => {
  const s = await F.start();
  const uri = 'file:///w/package.json';
  const diags = F.collect(s, uri);
  await s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'json', version: 1, text: '{"name": "x",, "version": 1,\n "hiden_size": 3}' } });
  const pos = { line: 1, character: 3 };
  assert.strictEqual(await s.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: pos }), null);
  assert.strictEqual(await s.conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri } }), null);
  assert.deepStrictEqual(await s.conn.sendRequest('textDocument/codeLens', { textDocument: { uri } }), []);
  assert.strictEqual(await s.conn.sendRequest('layerscope/modelTree', { textDocument: { uri } }), null);
  // Every shipped real config: no error-level diagnostic.
  const dir = path.join(__dirname, '..', 'fixtures', 'configs');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.config.json'))) {
    const d = await F.open(s, `file:///real/${f}`, fs.readFileSync(path.join(dir, f), 'utf8'));
    assert.deepStrictEqual(d.diagnostics.filter((x) => x.severity === 1), [], f);
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.deepStrictEqual(diags, [], 'no diagnostics for a non-model file');
  await F.finish(s);
});

test('cancellation: a canceled request gets exactly one response', async () => {
  const s = await F.start();
  const uri = 'file:///w/7b/config.json';
  await F.open(s, uri, LLAMA7B);
  const src = new h.lsp.CancellationTokenSource();
  const p = s.conn.sendRequest('layerscope/modelTree', { textDocument: { uri } }, src.token);
  src.cancel();
  try {
    const r = await p;
    assert.ok(r === null || Array.isArray(r.modules));
  } catch (e) {
    assert.strictEqual(e.code, -32800);
  }
  // The server keeps answering afterwards.
  const tree = await s.conn.sendRequest('layerscope/modelTree', { textDocument: { uri } });
  assert.ok(tree.modules.length > 0);
  await F.finish(s);
});

test('odd and broken documents: every feature at every position answers schema-valid results', async () => {
  const s = await F.start();
  const docs = [
    '',
    '{',
    '{"model_type": "llama", "hidden_size": }',
    '{"model_type": "llama",, "num_attention_heads": 0, "rope_scaling": {"type": "bogus"}, "torch_dtype": 7}',
    '{"architectures": ["Nope"], "model_type": "nope", "x": [1, {"y": [[]]}], "": 1}',
    '{"model_type": "mixtral", "num_experts_per_tok": 9, "num_local_experts": 8, "sliding_window": 99999999999999999999}',
    '\uFEFF{"model_type": "gpt2", "n_embd": 768.5, "n_head": 12,\r\n"n_layer": -1, "vocab_size": 1e400}',
    '{"model_type": "llama", "a": ' + '['.repeat(600),
    '{"model_type": "llama", \'hidden_size\': 4096, num_hidden_layers: 2, "use_cache": True, "x": NaN,}',
    '{"model_type": "bert", "hidden_size": 768, "num_attention_heads": 12}\n{"second": "root"}',
  ];
  let n = 0;
  for (const [i, text] of docs.entries()) {
    const uri = `file:///w/odd/${i}.json`;
    s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'json', version: 1, text } });
    const lines = text.split(/\r\n|\r|\n/);
    const reqs = [];
    lines.forEach((l, line) => {
      for (let character = 0; character <= l.length + 1; character += Math.max(1, Math.floor(l.length / 60))) {
        const position = { line, character };
        reqs.push(s.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position }));
        reqs.push(s.conn.sendRequest('textDocument/completion', { textDocument: { uri }, position }));
        reqs.push(s.conn.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: { start: position, end: position }, context: { diagnostics: [] } }));
      }
    });
    const all = { start: { line: 0, character: 0 }, end: { line: lines.length + 1, character: 0 } };
    reqs.push(s.conn.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range: all }));
    reqs.push(s.conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri } }));
    reqs.push(s.conn.sendRequest('textDocument/codeLens', { textDocument: { uri } }));
    reqs.push(s.conn.sendRequest('layerscope/modelTree', { textDocument: { uri } }));
    await Promise.all(reqs);
    n += reqs.length;
  }
  // A document that is not open: empty answers, no error.
  assert.strictEqual(await s.conn.sendRequest('textDocument/hover', { textDocument: { uri: 'file:///nowhere.json' }, position: { line: 0, character: 0 } }), null);
  // Bad params are InvalidParams naming the field.
  await assert.rejects(s.conn.sendRequest('textDocument/hover', { textDocument: { uri: 'file:///w/odd/1.json' }, position: { line: -1, character: 0 } }), (e) => e.code === -32602);
  await assert.rejects(s.conn.sendRequest('textDocument/inlayHint', { textDocument: { uri: 'file:///w/odd/1.json' } }), (e) => e.code === -32602 && /range/.test(e.message));
  console.log(`# ${n} requests on ${docs.length} odd documents`);
  await F.finish(s);
});
