// test_lsp_lifecycle.js: the LSP lifecycle through vscode-languageserver-protocol:
// initialize (capabilities, position-encoding negotiation), initialized (logMessage,
// workspace/configuration pull answered by the client), document sync (full and incremental
// edits checked against vscode-languageserver-textdocument, an independent implementation),
// didSave/didClose, shutdown/exit status, cancellation of running work, $/setTrace, and the
// editor launch arguments (--stdio, --clientProcessId). Every server message is checked
// against the LSP meta-model by the harness.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { TextDocument } = require('vscode-languageserver-textdocument');
const h = require('./lib/harness');
const { lsp } = h;

const DEBUG = { LAYERSCOPE_DEBUG_METHODS: '1' };

async function finish(s, { shutdown = true, wantCode = 0 } = {}) {
  if (shutdown) assert.strictEqual(await s.conn.sendRequest(lsp.ShutdownRequest.type), null);
  await s.conn.sendNotification(lsp.ExitNotification.type);
  const ex = await h.withTimeout(s.proc.exitP, 10000, 'exit');
  s.conn.dispose();
  assert.deepStrictEqual(s.checker.errors, [], 'schema/protocol problems');
  assert.deepStrictEqual(s.checker.unanswered(), [], 'requests without a response');
  assert.strictEqual(ex.code, wantCode, `exit status (stderr: ${s.proc.stderrText.slice(-500)})`);
}

test('initialize, initialized, shutdown, exit 0; utf-16 by default', async () => {
  const s = h.startLsp({ args: ['lsp', '--stdio', '--clientProcessId=' + process.pid] });
  const logs = [];
  const configRequests = [];
  s.conn.onNotification(lsp.LogMessageNotification.type, (p) => logs.push(p));
  s.conn.onRequest(lsp.ConfigurationRequest.type, (p) => { configRequests.push(p); return [{ batchSize: 4 }]; });
  const init = await h.initialize(s);
  assert.strictEqual(init.capabilities.positionEncoding, 'utf-16');
  assert.strictEqual(init.capabilities.textDocumentSync.change, lsp.TextDocumentSyncKind.Incremental);
  assert.strictEqual(init.capabilities.textDocumentSync.openClose, true);
  assert.strictEqual(init.serverInfo.name, 'layerscope');
  await s.conn.sendNotification(lsp.InitializedNotification.type, {});
  // The server pulls its settings section and says hello in the log.
  await h.withTimeout((async () => { while (!configRequests.length || !logs.length) await new Promise((r) => setTimeout(r, 10)); })(), 5000, 'configuration pull');
  assert.deepStrictEqual(configRequests[0].items, [{ section: 'layerscope' }]);
  assert.match(logs[0].message, /ready \(positions in utf-16\)/);
  await finish(s);
});

test('utf-8 is chosen when the client offers it', async () => {
  const s = h.startLsp();
  const init = await h.initialize(s, { capabilities: { general: { positionEncodings: ['utf-16', 'utf-8'] } } });
  assert.strictEqual(init.capabilities.positionEncoding, 'utf-8');
  await finish(s);
});

test('exit without shutdown gives status 1; end of input exits too', async () => {
  const s = h.startLsp();
  await h.initialize(s);
  await finish(s, { shutdown: false, wantCode: 1 });
  const t = h.startLsp();
  await h.initialize(t);
  t.proc.stdin.end();
  const ex = await h.withTimeout(t.proc.exitP, 10000, 'exit at end of input');
  assert.strictEqual(ex.signal, null);
  assert.strictEqual(ex.code, 1);
  assert.deepStrictEqual(t.checker.errors, []);
});

test('lifecycle errors: before initialize -32002, unknown -32601, after shutdown -32600, bad params -32602', async () => {
  const s = h.startLsp();
  await assert.rejects(s.conn.sendRequest('textDocument/hover', { textDocument: { uri: 'file:///x' }, position: { line: 0, character: 0 } }),
    (e) => e.code === -32002 && /before 'initialize'/.test(e.message));
  await assert.rejects(h.initialize(s, { capabilities: 'none' }),
    (e) => e.code === -32602 && /'capabilities' must be an object, got string/.test(e.message));
  await assert.rejects(h.initialize(s, { trace: 'loud' }), (e) => e.code === -32602 && /'trace'/.test(e.message));
  await h.initialize(s);
  await assert.rejects(h.initialize(s), (e) => e.code === -32600 && /only be sent once/.test(e.message));
  await assert.rejects(s.conn.sendRequest('layerscope/noSuchMethod', {}), (e) => e.code === -32601 && /noSuchMethod/.test(e.message));
  assert.strictEqual(await s.conn.sendRequest(lsp.ShutdownRequest.type), null);
  await assert.rejects(s.conn.sendRequest('layerscope/noSuchMethod', {}), (e) => e.code === -32600 && /after 'shutdown'/.test(e.message));
  await finish(s, { shutdown: false, wantCode: 0 });
});

test('document sync: full and incremental edits match an independent implementation', async () => {
  for (const enc of ['utf-16', 'utf-8']) {
    const s = h.startLsp({ env: DEBUG });
    const logs = [];
    s.conn.onNotification(lsp.LogMessageNotification.type, (p) => logs.push(p));
    const init = await h.initialize(s, { capabilities: { general: { positionEncodings: [enc] } } });
    assert.strictEqual(init.capabilities.positionEncoding, enc);
    await s.conn.sendNotification(lsp.InitializedNotification.type, {});
    const uri = 'file:///tmp/config.json';
    const text0 = '{\r\n  "model_type": "llama", // é😀\n  "hidden_size": 4096\r}\n';
    // TextDocument counts UTF-16; for the utf-8 run, positions are converted to byte columns.
    let doc = TextDocument.create(uri, 'json', 1, text0);
    await s.conn.sendNotification(lsp.DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version: 1, text: text0 } });
    const toWire = (d, p) => {
      if (enc === 'utf-16') return p;
      const lineStart = d.offsetAt({ line: p.line, character: 0 });
      const prefix = d.getText().slice(lineStart, d.offsetAt(p));
      return { line: p.line, character: Buffer.byteLength(prefix, 'utf8') };
    };
    let seed = 7;
    const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const inserts = ['x', '😀', 'é', '\r\n', '\n', '"k": 1,', '', '€€'];
    for (let v = 2; v < 40; v++) {
      const changes = [];
      for (let k = 0; k < 1 + rnd(3); k++) {
        const t = doc.getText();
        // Offsets on character boundaries (never inside a surrogate pair).
        const cut = () => { let o = rnd(t.length + 1); if (o > 0 && o < t.length && /[\uDC00-\uDFFF]/.test(t[o])) o--; return o; };
        let a = cut(), b = cut();
        if (a > b) [a, b] = [b, a];
        const range = { start: doc.positionAt(a), end: doc.positionAt(b) };
        const text = inserts[rnd(inserts.length)];
        changes.push({ range: { start: toWire(doc, range.start), end: toWire(doc, range.end) }, text });
        doc = TextDocument.update(doc, [{ range, text }], v);
      }
      if (v % 10 === 0) { // now and then a full replacement
        const full = doc.getText() + ' ';
        changes.push({ text: full });
        doc = TextDocument.update(doc, [{ text: full }], v);
      }
      await s.conn.sendNotification(lsp.DidChangeTextDocumentNotification.type, { textDocument: { uri, version: v }, contentChanges: changes });
      const got = await s.conn.sendRequest('layerscope/debugDocument', { textDocument: { uri } });
      assert.strictEqual(got.text, doc.getText(), `text after version ${v} (${enc})`);
      assert.strictEqual(got.version, v);
      assert.strictEqual(got.lineCount, doc.lineCount);
    }
    // Out-of-range positions clamp: a position past the line end is the line end.
    const got = await s.conn.sendRequest('layerscope/debugDocument', { textDocument: { uri }, position: { line: 0, character: 9999 } });
    const firstLineEnd = doc.getText().search(/\r\n|\r|\n|$/);
    assert.strictEqual(got.offset, Buffer.byteLength(doc.getText().slice(0, firstLineEnd), 'utf8'));
    // A bad edit is reported and leaves the text unchanged.
    const before = (await s.conn.sendRequest('layerscope/debugDocument', { textDocument: { uri } })).text;
    await s.conn.sendNotification(lsp.DidChangeTextDocumentNotification.type, { textDocument: { uri, version: 100 },
      contentChanges: [{ text: 'fine' }, { range: { start: { line: 0, character: 'x' }, end: { line: 0, character: 1 } }, text: 'y' }] });
    const after = await s.conn.sendRequest('layerscope/debugDocument', { textDocument: { uri } });
    assert.strictEqual(after.text, before);
    assert.ok(logs.some((l) => l.type === 1 && /contentChanges\[1\]\.range\.start\.character/.test(l.message)), 'error names the field');
    // didSave with text replaces it; didClose forgets the document and clears diagnostics.
    await s.conn.sendNotification(lsp.DidSaveTextDocumentNotification.type, { textDocument: { uri }, text: 'saved' });
    assert.strictEqual((await s.conn.sendRequest('layerscope/debugDocument', { textDocument: { uri } })).text, 'saved');
    const cleared = new Promise((res) => s.conn.onNotification(lsp.PublishDiagnosticsNotification.type, res));
    await s.conn.sendNotification(lsp.DidCloseTextDocumentNotification.type, { textDocument: { uri } });
    const pd = await h.withTimeout(cleared, 5000, 'publishDiagnostics on close');
    assert.deepStrictEqual(pd, { uri, diagnostics: [] });
    await assert.rejects(s.conn.sendRequest('layerscope/debugDocument', { textDocument: { uri } }), (e) => e.code === -32602);
    // Notifications with bad params are reported in the log, naming the field.
    await s.conn.sendNotification(lsp.DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version: 'one', text: '' } });
    await s.conn.sendRequest('layerscope/debugSleep', { ms: 0 }); // a round trip, so the log has arrived
    assert.ok(logs.some((l) => /'textDocument\.version' must be an integer, got string/.test(l.message)));
    await finish(s);
  }
});

test('work runs off the loop: requests are answered while a job runs; $/cancelRequest gives one -32800', async () => {
  const s = h.startLsp({ env: DEBUG });
  await h.initialize(s);
  const t0 = Date.now();
  const src = new lsp.CancellationTokenSource();
  const slow = s.conn.sendRequest('layerscope/debugSleep', { ms: 20000 }, src.token);
  const quick = await s.conn.sendRequest('layerscope/debugSleep', { ms: 10 });
  assert.ok(quick.slept >= 10);
  assert.ok(Date.now() - t0 < 5000, 'the quick request was not held up by the slow one');
  src.cancel();
  await assert.rejects(slow, (e) => e.code === -32800);
  assert.ok(Date.now() - t0 < 8000, 'cancellation stopped the running job early');
  await assert.rejects(s.conn.sendRequest('layerscope/debugSleep', { ms: -1 }), (e) => e.code === -32602 && /'ms'/.test(e.message));
  // Shutdown cancels what is still running; each request still gets exactly one response.
  const pending = s.conn.sendRequest('layerscope/debugSleep', { ms: 20000 }).then(() => null, (e) => e);
  assert.strictEqual(await s.conn.sendRequest(lsp.ShutdownRequest.type), null);
  assert.strictEqual((await pending).code, -32800);
  await finish(s, { shutdown: false });
});

test('$/setTrace makes the server send $/logTrace', async () => {
  const s = h.startLsp();
  const traces = [];
  s.conn.onNotification(lsp.LogTraceNotification.type, (p) => traces.push(p));
  await h.initialize(s);
  await s.conn.sendNotification(lsp.SetTraceNotification.type, { value: 'verbose' });
  await assert.rejects(s.conn.sendRequest('x/y', { a: 1 }));
  assert.ok(traces.some((t) => /Received request 'x\/y/.test(t.message) && t.verbose === '{"a":1}'), JSON.stringify(traces));
  await s.conn.sendNotification(lsp.SetTraceNotification.type, { value: 'off' });
  await s.conn.sendRequest(lsp.ShutdownRequest.type); // a round trip: the trace of setTrace itself has arrived
  const n = traces.length;
  await assert.rejects(s.conn.sendRequest('x/z', {}), (e) => e.code === -32600);
  assert.strictEqual(traces.length, n);
  await finish(s, { shutdown: false });
});
