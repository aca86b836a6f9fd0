// test_lsp_scale.js: the language server at sizes where work that grows faster than the
// input shows, each run against a time limit that linear work meets many times over (and
// that quadratic work exceeds by minutes), never a timed assertion on speed itself:
//   - a one-line config with 50,000 keys: every key is a diagnostic on line 0, and each
//     diagnostic's column used to be counted from the start of the line (16 s of a blocked
//     loop at 20,000 keys); the ranges are checked against positions computed here.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const h = require('./lib/harness');
const F = require('./lib/features');
const { lsp } = h;

test('a one-line config with 50,000 keys: diagnostics with exact ranges, the loop keeps answering', async () => {
  const s = await F.start();
  const N = 50000;
  // Two-byte UTF-8 letters in every key: UTF-16 columns and byte offsets part ways along the line.
  const cfg = { model_type: 'llama' };
  for (let i = 0; i < N; i++) cfg[`zz_ключ_${i}`] = i;
  const text = JSON.stringify(cfg);
  assert.ok(!text.includes('\n'));
  const uri = 'file:///w/one-line/config.json';
  s.conn.sendNotification(lsp.DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version: 1, text } });
  const d = await F.waitDiag(s, uri, (p) => p.version === 1, 60000);
  const unknown = d.diagnostics.filter((x) => x.code === 'LS003');
  assert.strictEqual(unknown.length, N);
  for (const i of [0, 1, N / 2, N - 2, N - 1]) {
    const want = F.rangeOf(text, `"zz_ключ_${i}"`);
    assert.ok(unknown.some((x) => x.range.start.character === want.start.character &&
      x.range.end.character === want.end.character && x.range.start.line === 0), `range of key ${i}`);
  }
  // A position far along the line, converted the other way (position -> offset).
  const last = F.rangeOf(text, `"zz_ключ_${N - 1}"`);
  const hv = await h.withTimeout(s.conn.sendRequest('textDocument/hover', { textDocument: { uri },
    position: { line: 0, character: last.start.character + 3 } }), 60000, 'hover');
  assert.strictEqual(hv, null); // an unknown key shapes nothing
  const mt = F.rangeOf(text, '"model_type"');
  const hv2 = await h.withTimeout(s.conn.sendRequest('textDocument/hover', { textDocument: { uri },
    position: { line: 0, character: mt.start.character + 2 } }), 60000, 'hover');
  assert.ok(hv2 && /LlamaForCausalLM/.test(hv2.contents.value), JSON.stringify(hv2));
  assert.deepStrictEqual(hv2.range, mt);
  await F.finish(s);
});
