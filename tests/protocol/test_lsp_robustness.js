// test_lsp_robustness.js: malformed input on the raw byte stream. Parse errors get -32700
// with id null, invalid envelopes -32600, broken headers and oversize messages are answered
// and skipped, bytes may arrive one at a time, and after 10,000 malformed or random frames a
// valid request is still answered correctly (the document opened before is intact). Every
// server message is checked against the LSP meta-model.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const h = require('./lib/harness');

const INIT = { jsonrpc: '2.0', id: 'init', method: 'initialize', params: { processId: null, capabilities: {} } };
const isErr = (code, id) => (m) => m.error && m.error.code === code && m.id === id;

async function close(s, code = 1) {
  const ex = await s.end();
  assert.strictEqual(ex.signal, null, s.proc.stderrText.slice(-2000));
  assert.strictEqual(ex.code, code);
  assert.deepStrictEqual(s.checker.errors, []);
  assert.deepStrictEqual(s.framingErrors, []);
}

test('parse errors, invalid envelopes and params', async () => {
  const s = new h.RawSession();
  await s.send(INIT);
  await s.waitFor((m) => m.id === 'init' && m.result);
  const cases = [
    ['{"jsonrpc":"2.0","id":1,"method":', -32700, null, /parse error/],
    ['\xff\xfe not utf-8', -32700, null, /parse error/],
    ['[1,2]', -32600, null, /batch/],
    ['42', -32600, null, /JSON object/],
    ['{"id":2,"method":"shutdown"}', -32600, 2, /jsonrpc/],
    ['{"jsonrpc":"2.0","id":1.5,"method":"shutdown"}', -32600, null, /'id'/],
    ['{"jsonrpc":"2.0","id":{"a":1},"method":"shutdown"}', -32600, null, /'id'/],
    ['{"jsonrpc":"2.0","id":3,"method":7}', -32600, 3, /'method'/],
    ['{"jsonrpc":"2.0","id":4,"method":"shutdown","params":"x"}', -32602, 4, /'params'/],
    ['{"jsonrpc":"2.0","id":5}', -32600, 5, /'method'/],
    ['{"jsonrpc":"2.0","id":6,"method":"initialized"}', -32600, 6, /notification/],
  ];
  for (const [body, code, id, re] of cases) {
    const n = s.msgs.length;
    await s.send(Buffer.concat([Buffer.from(`Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n`), Buffer.from(body, 'latin1')]));
    const m = await s.waitFor((x) => s.msgs.indexOf(x) >= n && x.error, 5000, body);
    assert.strictEqual(m.error.code, code, body);
    assert.strictEqual(m.id, id, body);
    assert.match(m.error.message, re, body);
  }
  await close(s);
});

test('broken headers are answered with -32700 and the stream recovers', async () => {
  const s = new h.RawSession(['lsp'], { LAYERSCOPE_MAX_MESSAGE: '4096' });
  const bad = [
    ['Content-Length: abc\r\n\r\n', /not a non-negative integer/],
    ['Content-Type: application/json\r\n\r\n', /without a Content-Length/],
    ['Content-Length: 99999999999999999999999\r\n\r\n', /overflows/],
    [`Content-Length: 5000\r\n\r\n${'x'.repeat(5000)}`, /5000 bytes exceeds the limit of 4096/],
    ['garbage!!{"x"}', /skipped 14 bytes/],
  ];
  for (const [bytes, re] of bad) {
    const n = s.msgs.length;
    await s.send(Buffer.from(bytes));
    if (bytes.startsWith('garbage')) await s.send(INIT); // junk glued to the next header
    const m = await s.waitFor((x) => s.msgs.indexOf(x) >= n && x.error && x.error.code === -32700, 5000, bytes.slice(0, 30));
    assert.strictEqual(m.id, null);
    assert.match(m.error.message, re);
  }
  const init = await s.waitFor((m) => m.id === 'init' && m.result, 5000, 'initialize after junk');
  assert.strictEqual(init.result.serverInfo.name, 'layerscope');
  // Lower-case header names, a Content-Type, and a request delivered one byte at a time.
  const body = JSON.stringify({ jsonrpc: '2.0', id: 'slow', method: 'shutdown' });
  const bytes = Buffer.from(`content-length: ${body.length}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n${body}`);
  s.checker.fromClient({ jsonrpc: '2.0', id: 'slow', method: 'shutdown' });
  for (const b of bytes) await s.send(Buffer.from([b]));
  const r = await s.waitFor((m) => m.id === 'slow', 5000, 'byte-at-a-time shutdown');
  assert.strictEqual(r.result, null);
  await s.send({ jsonrpc: '2.0', method: 'exit' });
  const ex = await h.withTimeout(s.proc.exitP, 10000, 'exit');
  assert.strictEqual(ex.code, 0);
  assert.deepStrictEqual(s.checker.errors, []);
  assert.deepStrictEqual(s.framingErrors, []);
});

test('10,000 malformed or random frames, then a valid request is answered correctly', async () => {
  const s = new h.RawSession(['lsp'], { LAYERSCOPE_DEBUG_METHODS: '1', LAYERSCOPE_MAX_MESSAGE: '8192' });
  await s.send(INIT);
  await s.waitFor((m) => m.id === 'init' && m.result);
  const uri = 'file:///robust/config.json';
  const text = '{\n  "model_type": "gpt2",\n  "n_embd": 768\n}\n';
  await s.send({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument: { uri, languageId: 'json', version: 1, text } } });
  let seed = 12345;
  const rnd = (n) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const randBytes = (n) => Buffer.from(Array.from({ length: n }, () => rnd(256)));
  const methods = ['textDocument/hover', 'textDocument/didOpen', 'textDocument/didChange', 'initialize', 'foo',
    '$/cancelRequest', '$/setTrace', 'workspace/didChangeConfiguration', 'layerscope/debugDocument', 'textDocument/didSave'];
  const randJson = (d = 0) => {
    switch (rnd(d > 2 ? 4 : 7)) {
      case 0: return rnd(1000) - 500;
      case 1: return randBytes(rnd(8)).toString('latin1');
      case 2: return rnd(2) === 0;
      case 3: return null;
      case 4: return Array.from({ length: rnd(4) }, () => randJson(d + 1));
      default: { const o = {}; for (let i = rnd(4); i > 0; i--) o[['uri', 'textDocument', 'version', 'text', 'id', 'value', 'x'][rnd(7)]] = randJson(d + 1); return o; }
    }
  };
  const chunks = [];
  let requests = 0;
  for (let i = 0; i < 10000; i++) {
    const k = rnd(9);
    if (k === 0) chunks.push(h.frame(randBytes(rnd(64)).toString('latin1')));
    else if (k === 1) { const b = randBytes(rnd(64)); chunks.push(Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`), b])); }
    else if (k === 2) chunks.push(h.frame(JSON.stringify(randJson())));
    else if (k === 3 || k === 4) { // JSON-RPC-shaped, random method/params (never our document, never exit/shutdown)
      const m = { jsonrpc: '2.0', method: methods[rnd(methods.length)], params: randJson(1) };
      if (rnd(2)) { m.id = rnd(3) ? 100000 + i : `s${i}`; requests++; s.checker.fromClient(m); }
      chunks.push(h.frame(m));
    } else if (k === 5) chunks.push(Buffer.from(['Content-Length: x\r\n\r\n', 'X-Junk: 1\r\n\r\n', 'content-length: -3\r\n\r\n', 'Content-Length: 1e3\r\n\r\n'][rnd(4)]));
    else if (k === 6) chunks.push(Buffer.concat([randBytes(rnd(40)).filter((c) => c !== 0x3a), Buffer.from('\r\n')]));
    else if (k === 7) { const n = 8193 + rnd(3000); chunks.push(Buffer.concat([Buffer.from(`Content-Length: ${n}\r\n\r\n`), randBytes(n)])); }
    else chunks.push(h.frame({ jsonrpc: '2.0', id: rnd(2) ? [1] : true, method: 'x' }));
  }
  // Written in pieces of random size, so frames straddle reads.
  const all = Buffer.concat(chunks);
  for (let off = 0; off < all.length;) { const n = 1 + rnd(65536); await s.send(all.subarray(off, off + n)); off += n; }
  s.checker.fromClient({ jsonrpc: '2.0', id: 'final', method: 'layerscope/debugDocument' });
  await s.send(h.frame({ jsonrpc: '2.0', id: 'final', method: 'layerscope/debugDocument', params: { textDocument: { uri } } }));
  const r = await s.waitFor((m) => m.id === 'final', 60000, 'the valid request after the junk');
  assert.deepStrictEqual(r.result, { text, version: 1, lineCount: 5, languageId: 'json' });
  // Every JSON-RPC request among the junk was answered exactly once.
  assert.deepStrictEqual(s.checker.unanswered(), []);
  assert.ok(s.msgs.length > requests, `${s.msgs.length} messages for ${requests} requests`);
  await close(s);
});
