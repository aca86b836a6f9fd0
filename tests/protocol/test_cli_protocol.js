// test_cli_protocol.js: the executable around the protocols: --version, --help, usage errors
// (exit 2), protocol auto-detection from the first message when no subcommand is given,
// stdin/stdout as regular files, end of input inside a message, the crash handler (native
// backtrace on stderr, non-zero death) and SIGPIPE (a vanished client does not kill the
// server by signal). Responses are checked against the schemas where there are any.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const h = require('./lib/harness');

const run = (args, input) => cp.spawnSync(h.BIN, args, { input: input || '', encoding: 'utf8', timeout: 20000 });
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, capabilities: {} } };

test('--version, --help, unknown subcommand, bad arguments', () => {
  const v = run(['--version']);
  assert.strictEqual(v.status, 0);
  assert.match(v.stdout, /^layerscope \d+\.\d+\.\d+\n$/);
  const hp = run(['--help']);
  assert.strictEqual(hp.status, 0);
  assert.match(hp.stdout, /\n  lsp +run the language server/);
  assert.match(hp.stdout, /\n  dap +run the debug adapter/);
  const u = run(['frobnicate']);
  assert.strictEqual(u.status, 2);
  assert.match(u.stderr, /unknown command 'frobnicate'/);
  assert.match(u.stderr, /usage: layerscope/);
  assert.strictEqual(u.stdout, '');
  const b = run(['lsp', '--bogus']);
  assert.strictEqual(b.status, 2);
  assert.match(b.stderr, /unknown argument '--bogus'[\s\S]*usage: layerscope lsp/);
  assert.strictEqual(run(['--log-level', 'loud']).status, 2);
  assert.strictEqual(run(['lsp', '--max-message', '0']).status, 2);
});

test('no subcommand: the first message picks LSP or DAP', async () => {
  const l = new h.RawSession(['--stdio']);
  await l.send(INIT);
  const r = await l.waitFor((m) => m.id === 1);
  assert.strictEqual(r.result.serverInfo.name, 'layerscope');
  await l.send({ jsonrpc: '2.0', id: 2, method: 'shutdown' });
  await l.waitFor((m) => m.id === 2);
  await l.send({ jsonrpc: '2.0', method: 'exit' });
  assert.strictEqual((await h.withTimeout(l.proc.exitP, 10000, 'exit')).code, 0);
  assert.deepStrictEqual(l.checker.errors, []);

  const checker = new h.DapChecker();
  const d = new h.RawSession([], {}, null);
  checker.fromClient(1, 'initialize');
  await d.send(h.frame({ seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'x' } }));
  const dr = await d.waitFor((m) => m.request_seq === 1);
  assert.strictEqual(dr.success, true);
  checker.fromAdapter(dr);
  assert.deepStrictEqual(checker.errors, []);
  assert.strictEqual((await d.end()).code, 0);

  const x = run([], 'Content-Length: 2\r\n\r\n{}');
  assert.strictEqual(x.status, 2);
  assert.match(x.stderr, /cannot tell the protocol/);
  const e = run([], '');
  assert.strictEqual(e.status, 2);
  assert.match(e.stderr, /stdin ended before a complete protocol message/);
});

test('stdin and stdout may be regular files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-cli-'));
  const inPath = path.join(dir, 'in'), outPath = path.join(dir, 'out');
  fs.writeFileSync(inPath, Buffer.concat([h.frame(INIT), h.frame({ jsonrpc: '2.0', id: 2, method: 'shutdown' }),
    h.frame({ jsonrpc: '2.0', method: 'exit' })]));
  const inFd = fs.openSync(inPath, 'r'), outFd = fs.openSync(outPath, 'w');
  const r = cp.spawnSync(h.BIN, ['lsp'], { stdio: [inFd, outFd, 'pipe'], timeout: 20000 });
  fs.closeSync(inFd);
  fs.closeSync(outFd);
  assert.strictEqual(r.status, 0, String(r.stderr));
  const out = fs.readFileSync(outPath, 'utf8');
  assert.match(out, /^Content-Length: \d+\r\n\r\n\{"jsonrpc":"2.0","id":1,"result":\{"capabilities"/);
  assert.match(out, /\{"jsonrpc":"2.0","id":2,"result":null\}$/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('end of input inside a message ends the server cleanly', async () => {
  const s = new h.RawSession(['lsp'], { LAYERSCOPE_LOG: 'warn' });
  await s.send(Buffer.from('Content-Length: 100\r\n\r\n{"jsonrpc":'));
  const ex = await s.end();
  assert.strictEqual(ex.signal, null);
  assert.strictEqual(ex.code, 1);
  assert.match(s.proc.stderrText, /end of input inside a message: got 11 of 100 body bytes/);
});

test('a crash prints a native backtrace and kills the process', async () => {
  // Under ASan the sanitizer owns SIGSEGV; the crash handler keeps SIGABRT there.
  for (const sig of h.SANITIZE ? ['ABRT'] : ['SEGV', 'ABRT']) {
    const s = new h.RawSession(['lsp'], { LAYERSCOPE_DEBUG_METHODS: '1' });
    await s.send(INIT);
    await s.waitFor((m) => m.id === 1);
    await s.send({ jsonrpc: '2.0', method: 'layerscope/debugCrash', params: { signal: sig } });
    const ex = await h.withTimeout(s.proc.exitP, 20000, 'crash');
    // Either re-raised (killed by the signal) or _exit(128 + signo): both say which signal.
    const signo = require('os').constants.signals['SIG' + sig];
    assert.ok(ex.signal === 'SIG' + sig || ex.code === 128 + signo, `died of SIG${sig}: ${JSON.stringify(ex)}`);
    assert.match(s.proc.stderrText, new RegExp(`fatal signal SIG${sig}; backtrace:`));
    assert.match(s.proc.stderrText, /#\d+ 0x[0-9a-f]+ lsp_on_debug_crash\+0x[0-9a-f]+/);
    assert.match(s.proc.stderrText, /#\d+ 0x[0-9a-f]+ lsp_server_main\+0x/);
  }
});

test('SIGPIPE: a client that stops reading does not kill the server by signal', async () => {
  const s = new h.RawSession(['lsp']);
  await s.send(INIT);
  await s.waitFor((m) => m.id === 1);
  s.proc.stdout.destroy(); // our read end is gone: the server's next write fails with EPIPE
  for (let i = 0; i < 50; i++) await s.send({ jsonrpc: '2.0', id: 100 + i, method: 'nothing/here', params: { pad: 'x'.repeat(1000) } });
  const ex = await h.withTimeout(s.proc.exitP, 10000, 'exit after EPIPE');
  assert.strictEqual(ex.signal, null, 'not killed by SIGPIPE');
  assert.strictEqual(ex.code, 1);
  assert.match(s.proc.stderrText, /write error/);
});
