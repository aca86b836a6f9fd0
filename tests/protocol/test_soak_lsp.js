// test_soak_lsp.js: one `layerscope lsp` process fed 100,000 incremental didChange edits of
// the Llama-2-7b config (10,000 under ASan), with a hover every 100 edits and a wait for the
// diagnostics of the current version every 1,000. The edits cycle through three kinds so
// that lengths and lines move: num_hidden_layers rewritten to another two-digit value, a run
// of spaces inserted after a comma and removed again, and a misspelt key inserted (which
// must raise LS003) and removed. The server's RSS (VmRSS of /proc/<pid>/status) is sampled
// once the first 1,000 edits are analysed and at the end: it must stay within 10% + 2 MiB
// of the 1,000-edit level (lib/soak.js says why the slack). ASan's quarantine holds freed
// memory on purpose, so under LS_SANITIZE=1 the RSS rule is skipped; the correctness checks
// stay: the text the server holds is the text the test holds (via the summary hover, whose
// parameter count is recomputed here from the layer count the edits left), and every
// message was valid (harness meta-model check).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const { TextDocument } = require('vscode-languageserver-textdocument');
const h = require('./lib/harness');
const F = require('./lib/features');
const S = require('./lib/soak');

const LLAMA7B = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'configs', 'llama-2-7b-hf.config.json'), 'utf8');
// scripts/valgrind-protocol.sh sets LS_VALGRIND=1: memcheck is ~30x slower than ASan
const EDITS = process.env.LS_VALGRIND === '1' ? 2000 : h.SANITIZE ? 10000 : 100000;
const HOVER_EVERY = 100;
const DIAG_EVERY = 1000;
const REF_AT = 1000;
const TYPO = '"hiden_size": 1,\n  ';

test(`soak: ${EDITS} incremental edits with hovers and diagnostics, RSS flat`, async () => {
  const t0 = Date.now();
  const s = await F.start();
  const uri = 'file:///soak/llama/config.json';
  // The test's own copy of the document, edited with the reference TextDocument
  // implementation: every range sent is computed on it, so a server that applied an edit
  // wrongly diverges and the final checks catch it.
  let doc = TextDocument.create(uri, 'json', 1, LLAMA7B);
  await F.open(s, uri, LLAMA7B);
  let version = 1;
  let layers = 32;
  let typo = false; // a misspelt key is in the text (removed by the next edit of that kind)
  let spaces = false; // three spaces follow "use_cache": true,
  let refRss = 0;
  let hovers = 0;

  const apply = (range, text) => {
    version++;
    doc = TextDocument.update(doc, [{ range, text }], version);
    s.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ range, text }] });
  };
  const rangeOf = (needle) => {
    const t = doc.getText();
    const i = t.indexOf(needle);
    assert.ok(i >= 0, needle);
    return { start: doc.positionAt(i), end: doc.positionAt(i + needle.length) };
  };

  for (let e = 1; e <= EDITS; e++) {
    const kind = e % 3;
    if (kind === 0) {
      // "num_hidden_layers": NN -> another value 10..99 (the range covers just the digits)
      const r = rangeOf(`"num_hidden_layers": ${layers}`);
      const next = 10 + ((layers - 10 + 7) % 90);
      apply({ start: { line: r.start.line, character: r.end.character - String(layers).length }, end: r.end }, String(next));
      layers = next;
    } else if (kind === 1) {
      // ranges are looked up afresh each time: the other kinds move lines in between
      if (spaces) { apply({ start: rangeOf('"use_cache": true,').end, end: rangeOf('"use_cache": true,   ').end }, ''); spaces = false; }
      else {
        const at = rangeOf('"use_cache": true,').end;
        apply({ start: at, end: at }, '   ');
        spaces = true;
      }
    } else if (typo) {
      apply(rangeOf(TYPO), ''); typo = false;
    } else {
      const at = rangeOf('"hidden_act"').start;
      apply({ start: at, end: at }, TYPO);
      typo = true;
    }
    if (e % HOVER_EVERY === 0) {
      // hover on num_key_value_heads: the table of what it shapes names k_proj
      const p = rangeOf('"num_key_value_heads"').start;
      const hv = await s.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: p.line, character: p.character + 3 } });
      assert.ok(hv && /k_proj\.weight/.test(hv.contents.value), `hover after edit ${e}: ${JSON.stringify(hv).slice(0, 200)}`);
      hovers++;
    }
    if (e % DIAG_EVERY === 0) {
      const v = version;
      const d = await F.waitDiag(s, uri, (p) => p.version === v, 20000);
      const typos = d.diagnostics.filter((x) => x.code === 'LS003' && x.message.includes('"hiden_size"')).length;
      assert.strictEqual(typos, typo ? 1 : 0, `edit ${e}: ${JSON.stringify(d.diagnostics).slice(0, 300)}`);
      s.published = []; // keep the test's own memory flat too
      if (e === REF_AT) refRss = S.rssKiB(s.proc.pid);
    }
  }

  // Correctness at the end: the summary hover on model_type states the parameter count of the
  // layer count the edits left, computed here from the test's copy of the text.
  const cfg = JSON.parse(doc.getText());
  assert.strictEqual(cfg.num_hidden_layers, layers);
  const want = S.grouped(S.llamaParams(cfg));
  const mt = rangeOf('"model_type"').start;
  const sum = await s.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: mt.line, character: mt.character + 1 } });
  assert.ok(sum.contents.value.includes(want), `summary hover lacks ${want}: ${sum.contents.value.slice(0, 400)}`);
  const endRss = S.rssKiB(s.proc.pid);
  console.log(`# ${EDITS} edits, ${hovers} hovers, ${EDITS / DIAG_EVERY} diagnostics waits in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (h.SANITIZE) console.log(`# ASan build: RSS rule skipped (quarantine); RSS ${refRss} -> ${endRss} KiB`);
  else S.assertNoGrowth(refRss, endRss, `lsp after ${REF_AT} vs ${EDITS} edits`);
  await F.finish(s);
});
