// test_lsp_features_sync.js: the parts of the language features that depend on the document
// and settings lifecycle: exact ranges in UTF-16 and UTF-8 with non-ASCII text and CRLF line
// ends (expected positions computed independently in lib/features.js), incremental edits
// re-checked, settings pulled (workspace/configuration) and pushed (didChangeConfiguration)
// re-publishing diagnostics and changing the figures, and versioning: under a burst of edits
// every published diagnostic set belongs to the version it is labelled with, versions only
// grow, and the last version's diagnostics arrive last.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const h = require('./lib/harness');
const F = require('./lib/features');

const LLAMA7B = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'configs', 'llama-2-7b-hf.config.json'), 'utf8');
// Non-ASCII (2-, 3- and 4-byte UTF-8; a surrogate pair in UTF-16) before the keys on the same
// line, and CRLF line ends.
const UNICODE = LLAMA7B.replace('"_name_or_path": "meta-llama/Llama-2-7b-hf",',
  '"_name_or_path": "ψ模型😀/Llama", "hiden_act": "silu", "rms_norm_eps": 1e-05,')
  .replace('  "rms_norm_eps": 1e-05,\n', '').replace('  "hidden_act": "silu",\n', '').replace(/\n/g, '\r\n');

for (const enc of ['utf-16', 'utf-8']) {
  test(`positions in ${enc}: non-ASCII text and CRLF, diagnostics, hover, incremental edit`, async () => {
    const s = await F.start(null, { encodings: enc === 'utf-8' ? ['utf-8', 'utf-16'] : ['utf-16'] });
    assert.strictEqual(s.init.capabilities.positionEncoding, enc);
    const uri = `file:///w/${enc}/config.json`;
    const d = await F.open(s, uri, UNICODE);
    const typo = d.diagnostics.find((x) => x.code === 'LS003');
    assert.ok(typo, JSON.stringify(d.diagnostics));
    const want = F.rangeOf(UNICODE, '"hiden_act"', enc);
    assert.deepStrictEqual(typo.range, want);
    // A hover on the key after the emoji, addressed in the same encoding.
    const eps = F.rangeOf(UNICODE, '"rms_norm_eps"', enc);
    const hv = await s.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: eps.start.line, character: eps.start.character + 2 } });
    assert.ok(hv && /rms_norm_eps/.test(hv.contents.value), JSON.stringify(hv));
    assert.deepStrictEqual(hv.range, eps);
    // Inlay hint after a value further right on a line with non-ASCII text.
    const mt = F.rangeOf(UNICODE, '"llama"', enc);
    const hints = await s.conn.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 99, character: 0 } } });
    assert.ok(hints.some((x) => x.label === '6.74 B params' && x.position.line === mt.end.line && x.position.character === mt.end.character));
    // The quick fix edits exactly the typo'd key.
    const actions = await s.conn.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: want, context: { diagnostics: [typo] } });
    const fix = actions.find((a) => a.diagnostics[0].code === 'LS003');
    assert.deepStrictEqual(fix.edit.changes[uri][0].range, want);
    // Apply it as an incremental change in this encoding: version 2 is clean of LS003.
    s.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ range: want, text: '"hidden_act"' }] });
    const d2 = await F.waitDiag(s, uri, (p) => p.version === 2);
    assert.ok(!d2.diagnostics.some((x) => x.code === 'LS003'), JSON.stringify(d2.diagnostics));
    await F.finish(s);
  });
}

test('settings pulled with workspace/configuration re-publish diagnostics and change the figures', async () => {
  const s = await F.start({ ...h.BASE_CAPS, workspace: { configuration: true, inlayHint: { refreshSupport: true }, codeLens: { refreshSupport: true } } });
  const refreshes = [];
  s.conn.onRequest('workspace/inlayHint/refresh', () => { refreshes.push('inlayHint'); return null; });
  s.conn.onRequest('workspace/codeLens/refresh', () => { refreshes.push('codeLens'); return null; });
  const text = LLAMA7B.replace('"vocab_size": 32000', '"vocab_size": 32001');
  const uri = 'file:///w/settings/config.json';
  const d1 = await F.open(s, uri, text);
  assert.ok(d1.diagnostics.some((x) => x.code === 'LS106'));
  const cfg = JSON.parse(text);
  s.settings = { batch: 4, seqLen: 4096, dtype: 'fp32', disabledRules: ['LS106'] };
  const before = s.published.length;
  s.conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
  const d2 = await F.waitDiag(s, uri, (p) => s.published.indexOf(p) >= before);
  assert.strictEqual(d2.version, 1);
  assert.ok(!d2.diagnostics.some((x) => x.code === 'LS106'), 'LS106 switched off');
  const mt = F.rangeOf(text, '"model_type"').start;
  const hv = await s.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: mt.line, character: mt.character + 2 } });
  // KV cache in fp32: K and V, every layer, hidden_size values of 4 bytes, per token.
  const kvTok = 2 * cfg.num_hidden_layers * cfg.hidden_size * 4;
  assert.ok(hv.contents.value.includes(`KV cache (fp32) | ${(kvTok / 2 ** 20).toFixed(2)} MiB/token · ${(kvTok * 4 * 4096 / 2 ** 30).toFixed(2)} GiB at B=4 S=4096`), hv.contents.value);
  const lens = await s.conn.sendRequest('textDocument/codeLens', { textDocument: { uri } });
  assert.match(lens[0].command.title, new RegExp(`weights ${(6738415616 * 4 / 2 ** 30).toFixed(2)} GiB fp32`));
  assert.deepStrictEqual(refreshes.sort(), ['codeLens', 'inlayHint'], 'clients are asked to fetch hints and lenses again');
  // A bad value is reported in the log and ignored; the server carries on.
  const logs = [];
  s.conn.onNotification('window/logMessage', (p) => logs.push(p));
  s.settings = { batch: -1 };
  s.conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
  await h.withTimeout((async () => { while (!logs.some((l) => /layerscope\.batch/.test(l.message))) await new Promise((r) => setTimeout(r, 10)); })(), 5000, 'warning');
  const d3 = await F.waitDiag(s, uri, (p) => p.diagnostics.some((x) => x.code === 'LS106'));
  assert.strictEqual(d3.version, 1);
  await F.finish(s);
});

test("the VS Code extension's default settings (seqLen 0: the model's default) are taken without a warning", async () => {
  const s = h.startLsp();
  const logs = [], shown = [], published = [];
  let pulled = 0;
  s.conn.onNotification('window/logMessage', (p) => logs.push(p));
  s.conn.onNotification('window/showMessage', (p) => shown.push(p));
  s.conn.onNotification('textDocument/publishDiagnostics', (p) => published.push(p));
  // The section as VS Code returns it with nothing set (editor-extension/package.json defaults).
  s.conn.onRequest('workspace/configuration', (p) => { pulled++; return p.items.map(() => ({ path: '', batch: 1, seqLen: 0, dtype: '', disabledRules: [], trace: { server: 'off' } })); });
  await h.initialize(s);
  await s.conn.sendNotification('initialized', {});
  await h.withTimeout((async () => { while (!pulled) await new Promise((r) => setTimeout(r, 10)); })(), 5000, 'configuration pull');
  // Handled in order: once the document's diagnostics are out, the settings answer was read.
  const uri = 'file:///w/defaults/config.json';
  s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'json', version: 1, text: LLAMA7B } });
  await h.withTimeout((async () => { while (!published.some((p) => p.uri === uri)) await new Promise((r) => setTimeout(r, 10)); })(), 10000, 'diagnostics');
  const mt = F.rangeOf(LLAMA7B, '"model_type"').start;
  const hv = await s.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: mt.line, character: mt.character + 2 } });
  assert.match(hv.contents.value, /\(S=2048\)/, 'S is the model default, min(max_position_embeddings, 2048)');
  assert.deepStrictEqual(logs.filter((l) => l.type <= 2), [], 'no warning or error in the log');
  assert.deepStrictEqual(shown, []);
  assert.ok(logs.some((l) => /ready/.test(l.message)));
  await F.finish(s);
});

test('settings pushed with didChangeConfiguration (client without workspace/configuration)', async () => {
  const s = await F.start(null, { pull: false });
  const text = LLAMA7B.replace('"vocab_size": 32000', '"vocab_size": 32001');
  const uri = 'file:///w/push/config.json';
  const d1 = await F.open(s, uri, text);
  assert.ok(d1.diagnostics.some((x) => x.code === 'LS106'));
  s.conn.sendNotification('workspace/didChangeConfiguration', { settings: { layerscope: { disabledRules: ['vocab-not-multiple-of-64'] } } });
  await F.waitDiag(s, uri, (p) => !p.diagnostics.some((x) => x.code === 'LS106'));
  await F.finish(s);
});

test('versioning: under a burst of edits no diagnostics of an old version arrive after a newer one', async () => {
  const s = await F.start();
  const uri = 'file:///w/burst/config.json';
  const vocabOf = (v) => 32000 + 2 * v + 1; // odd: LS106 names it in its message
  const textOf = (v) => LLAMA7B.replace('"vocab_size": 32000', `"vocab_size": ${vocabOf(v)}`);
  await F.open(s, uri, textOf(1));
  const N = 60;
  for (let v = 2; v <= N; v++) {
    // Alternate full and incremental changes.
    const change = v % 2 ? { text: textOf(v) } : { range: F.rangeOf(textOf(v - 1), String(vocabOf(v - 1))), text: String(vocabOf(v)) };
    s.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: v }, contentChanges: [change] });
  }
  await F.waitDiag(s, uri, (p) => p.version === N);
  await new Promise((r) => setTimeout(r, 200));
  const mine = s.published.filter((p) => p.uri === uri);
  for (let i = 1; i < mine.length; i++) assert.ok(mine[i].version > mine[i - 1].version, `version ${mine[i].version} after ${mine[i - 1].version}`);
  for (const p of mine) {
    const d = p.diagnostics.find((x) => x.code === 'LS106');
    assert.ok(d && d.message.includes(String(vocabOf(p.version))), `diagnostics labelled ${p.version} belong to it: ${d && d.message}`);
  }
  assert.strictEqual(mine[mine.length - 1].version, N);
  console.log(`# ${N} versions, ${mine.length} publications (edits coalesced)`);
  // Closing clears them.
  s.conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
  await F.waitDiag(s, uri, (p) => p.diagnostics.length === 0);
  // Opened, closed and reopened with other text at version 1 again: analysed afresh, not
  // served from the analysis of the first life.
  const uri2 = 'file:///w/reopen/config.json';
  await F.open(s, uri2, textOf(3));
  s.conn.sendNotification('textDocument/didClose', { textDocument: { uri: uri2 } });
  await F.waitDiag(s, uri2, (p) => p.diagnostics.length === 0);
  const count = s.published.length;
  s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: uri2, languageId: 'json', version: 1, text: textOf(7) } });
  const re = await F.waitDiag(s, uri2, (p) => s.published.indexOf(p) >= count && p.diagnostics.length > 0);
  assert.strictEqual(re.version, 1);
  assert.match(re.diagnostics.find((x) => x.code === 'LS106').message, new RegExp(String(vocabOf(7))));
  await F.finish(s);
});

test('a large document is analysed on the pool: stale results dropped, requests cancelable', async () => {
  const s = await F.start();
  const uri = 'file:///w/large/config.json';
  const cfg = JSON.parse(LLAMA7B);
  cfg.id2label = {};
  for (let i = 0; i < 150000; i++) cfg.id2label[String(i)] = `LABEL_${i}`;
  const big = (vocab) => JSON.stringify({ ...cfg, vocab_size: vocab }, null, 2);
  assert.ok(big(32000).length > 4 * 1024 * 1024);
  s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'json', version: 1, text: big(32001) } });
  s.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: big(32003) }] });
  const d2 = await F.waitDiag(s, uri, (p) => p.version === 2, 60000);
  assert.match(d2.diagnostics.find((x) => x.code === 'LS106').message, /32003/);
  // Each publication belongs to the version it names, in order.
  const mine = () => s.published.filter((p) => p.uri === uri);
  for (const p of mine()) assert.match(p.diagnostics.find((x) => x.code === 'LS106').message, new RegExp(String(32000 + 2 * p.version - 1)));
  console.log(`# large document: ${mine().length} publication(s) for 2 versions`);
  // Stale again; a hover canceled at once gets exactly one response, RequestCancelled.
  s.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: 3 }, contentChanges: [{ text: big(32005) }] });
  const at = F.rangeOf(big(32005), '"num_hidden_layers"').start;
  const hoverParams = { textDocument: { uri }, position: { line: at.line, character: at.character + 2 } };
  const src = new h.lsp.CancellationTokenSource();
  const canceled = s.conn.sendRequest('textDocument/hover', hoverParams, src.token);
  src.cancel();
  await assert.rejects(canceled, (e) => e.code === -32800);
  // Without cancellation the deferred hover is answered once the analysis is current.
  const hv = await s.conn.sendRequest('textDocument/hover', hoverParams);
  assert.match(hv.contents.value, /num_hidden_layers/);
  await F.waitDiag(s, uri, (p) => p.version === 3, 60000);
  await F.finish(s);
});

test('a model_type layerscope does not model: no figures, then a generic reading labelled in hover, code lens, inlay hints and modelTree (issue 17)', async () => {
  const s = await F.start({ ...h.BASE_CAPS, workspace: { configuration: true } });
  // Qwen3-Next: a transformers model type layerscope does not model. Its keys are never
  // typos of llama's, and its type is never "corrected" to another.
  const text = '{\n  "architectures": ["Qwen3NextForCausalLM"],\n  "model_type": "qwen3_next",\n  "hidden_size": 2048,\n' +
    '  "num_attention_heads": 16,\n  "num_key_value_heads": 2,\n  "num_hidden_layers": 48,\n  "linear_num_value_heads": 32,\n' +
    '  "vocab_size": 151936\n}\n';
  const uri = 'file:///w/qwen3-next/config.json';
  const d1 = await F.open(s, uri, text);
  const t117 = d1.diagnostics.find((x) => x.code === 'LS117');
  assert.ok(t117 && /transformers model type that layerscope does not model/.test(t117.message), JSON.stringify(d1.diagnostics));
  assert.ok(!d1.diagnostics.some((x) => x.code === 'LS003'), 'no unknown-key findings for a family layerscope does not know');
  const acts = await s.conn.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: t117.range, context: { diagnostics: [t117] } });
  assert.deepStrictEqual(acts, [], 'no "Change to" fix on a valid upstream type');
  const mt = F.rangeOf(text, '"model_type"').start;
  const at = { textDocument: { uri }, position: { line: mt.line, character: mt.character + 2 } };
  const hv = await s.conn.sendRequest('textDocument/hover', at);
  assert.match(hv.contents.value, /not modelled/);
  assert.doesNotMatch(hv.contents.value, /params \|/, 'no parameter count');
  const lens = await s.conn.sendRequest('textDocument/codeLens', { textDocument: { uri } });
  assert.match(lens[0].command.title, /^qwen3_next: not modelled by layerscope, no figures/);
  const tree = await s.conn.sendRequest('layerscope/modelTree', { textDocument: { uri } });
  assert.strictEqual(tree.reading, 'none');
  assert.deepStrictEqual(tree.modules, []);
  // On request: the llama-style reading, and every place that shows a figure says it is generic.
  const before = s.published.length;
  s.settings = { genericReading: true };
  s.conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
  await F.waitDiag(s, uri, (p) => s.published.indexOf(p) >= before);
  const hv2 = await s.conn.sendRequest('textDocument/hover', at);
  assert.match(hv2.contents.value, /generic llama-style reading/);
  assert.match(hv2.contents.value, /params \|/);
  const lens2 = await s.conn.sendRequest('textDocument/codeLens', { textDocument: { uri } });
  assert.match(lens2[0].command.title, /^GENERIC llama-style reading, not qwen3_next's: [0-9.]+ B params/);
  const hints = await s.conn.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 99, character: 0 } } });
  assert.ok(hints.length > 0);
  for (const x of hints) assert.match(x.label, /generic/, x.label);
  const tree2 = await s.conn.sendRequest('layerscope/modelTree', { textDocument: { uri } });
  assert.strictEqual(tree2.reading, 'generic');
  assert.match(tree2.reading_note, /generic llama-style reading/);
  await F.finish(s);
});

test('layerscope.attnImplementation: the training estimate follows the kernel (eager keeps the S x S probabilities)', async () => {
  const s = await F.start({ ...h.BASE_CAPS, workspace: { configuration: true } });
  const uri = 'file:///w/attn/config.json';
  await F.open(s, uri, LLAMA7B);
  const cfg = JSON.parse(LLAMA7B);
  const mt = F.rangeOf(LLAMA7B, '"model_type"').start;
  const at = { textDocument: { uri }, position: { line: mt.line, character: mt.character + 2 } };
  const total = async (impl) => {
    const r = (await s.conn.sendRequest('textDocument/hover', at)).contents.value.split('\n').find((l) => l.startsWith('| training'));
    const m = new RegExp(`^\\| training \\(Adam, ${impl}\\) \\| ([0-9.]+) GiB;`).exec(r);
    assert.ok(m, r);
    return Number(m[1]);
  };
  const sdpa = await total('sdpa'); // the default
  const before = s.published.length;
  s.settings = { attnImplementation: 'eager' };
  s.conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
  await F.waitDiag(s, uri, (p) => s.published.indexOf(p) >= before);
  const eager = await total('eager');
  // per layer 5 a s^2 b bytes of probabilities instead of 4 a s b of log-sum-exp, S = 2048, B = 1
  const a = cfg.num_attention_heads, S = 2048;
  const diff = cfg.num_hidden_layers * (5 * a * S * S - 4 * a * S) / 2 ** 30;
  assert.ok(Math.abs(eager - sdpa - diff) < 0.02, `${eager} - ${sdpa} != ${diff}`);
  await F.finish(s);
});
