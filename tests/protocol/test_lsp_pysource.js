// test_lsp_pysource.js: shapes in the user's Python source through the real client library.
// A real training program (tests/fixtures/programs/train_faults.py) is run under
// `layerscope watch --health-every 1 --record RUN.db` with /usr/bin/python3 (torch); then the
// language server, with the layerscope.runRecord setting naming RUN.db, answers hovers and
// inlay hints on the program's .py file: each module call (`self.fc(x)`, `b(h)`, `net(x)`)
// shows its module(s), type and the shapes of the call. The expected shapes come from the
// program's own constants (batch 16, 8 inputs, width 32, one output), the expected ranges
// from the text (the call expressions), never from the server. Without the run record
// setting, or for a file the record does not know, hovers are null and there are no hints.
// Without torch in /usr/bin/python3 the test is a skip (77), and under CI a failure.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const h = require('./lib/harness');
const F = require('./lib/features');

const PY = '/usr/bin/python3';
const PROGRAM = path.resolve(__dirname, '..', 'fixtures', 'programs', 'train_faults.py');
const TEXT = fs.readFileSync(PROGRAM, 'utf8');
const URI = 'file://' + PROGRAM.split('/').map(encodeURIComponent).join('/');

if (spawnSync(PY, ['-c', 'import torch']).status !== 0) {
  if (process.env.CI && process.env.CI !== 'false') { console.error(`FAIL (CI does not skip): ${PY} has no torch`); process.exit(1); }
  console.log(`skipped: ${PY} cannot import torch`);
  process.exit(77);
}

// Under ASan the agent's library (built with the sanitizers) is loaded into Python, whose
// runtime must then come first (as in test_dap_agent.js).
// (scripts/valgrind-protocol.sh also sets LS_SANITIZE to scale tests down; the library is the
// release one there, and the preload would only trouble valgrind.)
const SAN_ENV = h.SANITIZE && process.env.LS_VALGRIND !== '1' ? { LD_PRELOAD: spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim(),
  ASAN_OPTIONS: 'detect_leaks=0', LSAN_OPTIONS: 'detect_leaks=0' } : {};
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-pysource-'));
const DB = path.join(dir, 'run.db');
const w = spawnSync(h.BIN, ['watch', '--health-every', '1', '--record', DB, '--python', PY, '--', PROGRAM, 'clean',
  path.join(dir, 'ref.json'), '3'], { encoding: 'utf8', timeout: 180000, env: { ...process.env, ...SAN_ENV } });
assert.strictEqual(w.status, 0, `watch: ${w.stderr}`);
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

// batch 16, 8 input features, width D = 32, one output (train_faults.py)
const CALLS = [
  { call: 'self.inp(x)', modules: 'inp', type: 'Linear', shapes: '[16, 8] f32 -> [16, 32]' },
  { call: 'self.fc(x)', modules: 'blocks.0.fc, blocks.1.fc, blocks.2.fc, blocks.3.fc', type: 'Linear', shapes: '[16, 32] f32 -> [16, 32]' },
  { call: 'self.act(self.fc(x))', modules: 'blocks.0.act, blocks.1.act, blocks.2.act, blocks.3.act', type: 'ReLU', shapes: '[16, 32] f32 -> [16, 32]' },
  { call: 'b(h)', modules: 'blocks.0, blocks.1, blocks.2, blocks.3', type: 'Block', shapes: '[16, 32] f32 -> [16, 32]' },
  { call: 'self.head(h)', modules: 'head', type: 'Linear', shapes: '[16, 32] f32 -> [16, 1]' },
  { call: 'net(x)', modules: '(root)', type: 'Net', shapes: '[16, 8] f32 -> [16, 1]' },
];

// Settings pushed (handled in order, before the requests that follow); the pull that
// F.start answers carries the same.
async function withRecord() {
  const s = await F.start(null, { settings: { runRecord: DB } });
  s.conn.sendNotification('workspace/didChangeConfiguration', { settings: { layerscope: { runRecord: DB } } });
  return s;
}

function openPy(s, uri = URI, text = TEXT) {
  s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'python', version: 1, text } });
}

const hover = (s, pos, uri = URI) => s.conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: pos });

test('hover on a module call: its modules, type and the shapes of the call', async () => {
  const s = await withRecord();
  openPy(s);
  for (const c of CALLS) {
    const r = F.rangeOf(TEXT, c.call);
    const hv = await hover(s, { line: r.start.line, character: r.start.character + 1 });
    assert.ok(hv, `no hover on ${c.call}`);
    const md = hv.contents.value;
    assert.ok(md.includes('`' + c.modules + '`'), `${c.call}: ${md}`);
    assert.ok(md.includes('(`' + c.type + '`)'), `${c.call}: ${md}`);
    assert.ok(md.includes('`' + c.shapes + '`'), `${c.call}: ${md}`);
    assert.deepStrictEqual(hv.range, r, `${c.call}: the range of the call`);
  }
  // the inner call wins inside it, the outer one outside it
  const inner = F.rangeOf(TEXT, 'self.fc(x)');
  const hv = await hover(s, { line: inner.start.line, character: inner.start.character + 2 });
  assert.ok(hv.contents.value.includes('blocks.0.fc') && !hv.contents.value.includes('act'), hv.contents.value);
  // a line that calls no module
  const plain = F.rangeOf(TEXT, 'opt.zero_grad()');
  assert.strictEqual(await hover(s, plain.start), null);
  await F.finish(s);
});

test('inlay hints: the shapes after each module call', async () => {
  const s = await withRecord();
  openPy(s);
  const hints = await s.conn.sendRequest('textDocument/inlayHint', { textDocument: { uri: URI }, range: { start: { line: 0, character: 0 }, end: { line: 9999, character: 0 } } });
  assert.strictEqual(hints.length, CALLS.length, JSON.stringify(hints));
  for (const c of CALLS) {
    const end = F.rangeOf(TEXT, c.call).end;
    const hit = hints.find((x) => x.position.line === end.line && x.position.character === end.character);
    assert.ok(hit, `no hint after ${c.call}: ${JSON.stringify(hints)}`);
    assert.strictEqual(hit.label, c.shapes);
  }
  // a range over one line gets that line's hints only
  const act = F.rangeOf(TEXT, 'self.act(self.fc(x))');
  const some = await s.conn.sendRequest('textDocument/inlayHint', { textDocument: { uri: URI }, range: { start: { line: act.start.line, character: 0 }, end: { line: act.start.line, character: 80 } } });
  assert.strictEqual(some.length, 2, JSON.stringify(some));
  await F.finish(s);
});

test('no run record, or a file the record does not know: no hover, no hints', async () => {
  const s = await F.start();
  openPy(s);
  const r = F.rangeOf(TEXT, 'net(x)');
  assert.strictEqual(await hover(s, r.start), null);
  const other = 'file:///w/other/train.py';
  s.settings = { runRecord: DB };
  s.conn.sendNotification('workspace/didChangeConfiguration', { settings: { layerscope: { runRecord: DB } } });
  openPy(s, other);
  assert.strictEqual(await hover(s, r.start, other), null);
  const hints = await s.conn.sendRequest('textDocument/inlayHint', { textDocument: { uri: other }, range: { start: { line: 0, character: 0 }, end: { line: 999, character: 0 } } });
  assert.deepStrictEqual(hints, []);
  await F.finish(s);
});
