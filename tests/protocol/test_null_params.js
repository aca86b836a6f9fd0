// test_null_params.js: requests and notifications that take no parameters, sent with
// "params": null (LSP) or "arguments": null (DAP), as some clients do, and with the field
// left out. The server must treat both like no parameters: `shutdown` is answered with null,
// `exit` ends the process with status 0 (without the client closing its input, so a server
// that ignores the message lingers and the test times out), and DAP's `threads` and
// `disconnect` answer with success, `disconnect` ending the adapter with status 0. Raw
// frames, since the client libraries never send null themselves; every server message is
// still checked against the LSP meta-model or the DAP schema.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const h = require('./lib/harness');

const INIT = { jsonrpc: '2.0', id: 'init', method: 'initialize', params: { processId: null, capabilities: {} } };

for (const [what, withParams] of [['params null', (m) => ({ ...m, params: null })], ['no params', (m) => m]]) {
  test(`LSP shutdown and exit with ${what}: answered, then exit status 0`, async () => {
    const s = new h.RawSession(['lsp']);
    await s.send(INIT);
    await s.waitFor((m) => m.id === 'init' && m.result, 10000, 'initialize result');
    await s.send(withParams({ jsonrpc: '2.0', method: 'initialized' }));
    await s.send(withParams({ jsonrpc: '2.0', id: 2, method: 'shutdown' }));
    const r = await s.waitFor((m) => m.id === 2, 10000, 'shutdown response');
    assert.strictEqual(r.error, undefined, JSON.stringify(r));
    assert.strictEqual(r.result, null);
    await s.send(withParams({ jsonrpc: '2.0', method: 'exit' }));
    // The input stays open: the process must end because of `exit` alone.
    const ex = await h.withTimeout(s.proc.exitP, 10000, 'server exit after exit');
    assert.strictEqual(ex.signal, null, s.proc.stderrText.slice(-2000));
    assert.strictEqual(ex.code, 0, s.proc.stderrText.slice(-2000));
    assert.deepStrictEqual(s.checker.errors, []);
    assert.deepStrictEqual(s.checker.unanswered(), []);
    assert.deepStrictEqual(s.framingErrors, []);
    assert.ok(!s.msgs.some((m) => m.error), JSON.stringify(s.msgs.filter((m) => m.error)));
  });
}

test('DAP threads and disconnect with arguments null: success, then exit status 0', async () => {
  const checker = new h.DapChecker();
  const s = new h.RawSession(['dap'], {}, null);
  const send = async (obj) => { checker.fromClient(obj.seq, obj.command); await s.send(h.frame(obj)); };
  await send({ seq: 1, type: 'request', command: 'initialize',
    arguments: { adapterID: 'layerscope', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' } });
  await s.waitFor((m) => m.type === 'response' && m.request_seq === 1, 10000, 'initialize response');
  await send({ seq: 2, type: 'request', command: 'threads', arguments: null });
  const th = await s.waitFor((m) => m.type === 'response' && m.request_seq === 2, 10000, 'threads response');
  assert.strictEqual(th.success, true, JSON.stringify(th));
  await send({ seq: 3, type: 'request', command: 'disconnect', arguments: null });
  const dc = await s.waitFor((m) => m.type === 'response' && m.request_seq === 3, 10000, 'disconnect response');
  assert.strictEqual(dc.success, true, JSON.stringify(dc));
  const ex = await h.withTimeout(s.proc.exitP, 10000, 'adapter exit after disconnect');
  assert.strictEqual(ex.signal, null, s.proc.stderrText.slice(-2000));
  assert.strictEqual(ex.code, 0);
  for (const m of s.msgs) checker.fromAdapter(m);
  assert.deepStrictEqual(checker.errors, []);
  assert.deepStrictEqual(checker.unanswered(), []);
  assert.deepStrictEqual(s.framingErrors, []);
});
