// test_dap_files.js: what the adapter does with files it should not read, through
// @vscode/debugadapter-testsupport: a weights checkpoint whose model.safetensors.index.json
// names a FIFO as a shard must fail at once with an error response to `launch` naming the
// FIFO (the adapter checks the weights' headers before it answers launch), and let
// `disconnect` end the adapter (a blocking open of the FIFO used to hang the engine thread, so
// the run never started and disconnect never returned). A config or weights path naming a
// file that is not JSON (an .env holding credentials, a binary) must fail the launch with a
// message that says so without quoting the file: no message the adapter sends may contain
// the fake credentials. Every adapter message is validated
// against the DAP schema by the harness.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const os = require('os');
const cp = require('child_process');
const h = require('./lib/harness');

const CONFIG = path.join(h.FIXTURES, 'model', 'config.json');
const INIT_ARGS = { adapterID: 'layerscope', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' };
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-dap-files-'));
test.after(() => fs.rmSync(DIR, { recursive: true, force: true }));

// Starts a session and launches with `args`: a launch that cannot run must be answered with
// an error response, whose message is returned; the output events are collected too.
async function run(args) {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  const outputs = [];
  dc.on('output', (e) => outputs.push(e.body.output));
  await dc.initializeRequest(INIT_ARGS);
  let launchError = null;
  await h.withTimeout(dc.launchRequest({ config: CONFIG, randomTokens: 4, threads: 1, ...args })
    .then(() => {}, (e) => { launchError = e.message; }), 10000, 'launch response');
  assert.ok(launchError !== null, `launch with ${JSON.stringify(args)} succeeded; it must fail`);
  return { dc, outputs, launchError };
}

async function disconnect(dc) {
  await h.withTimeout(dc.disconnectRequest({}), 10000, 'disconnect response');
  const ex = await h.withTimeout(dc.proc.exitP, 10000, 'adapter exit after disconnect');
  assert.strictEqual(ex.signal, null, dc.proc.stderrText.slice(-2000));
  assert.strictEqual(ex.code, 0, dc.proc.stderrText.slice(-2000));
  assert.deepStrictEqual(dc.checker.errors, []);
  assert.deepStrictEqual(dc.checker.unanswered(), []);
}

test('a FIFO shard fails the launch at once and disconnect ends the adapter', async () => {
  const ckpt = path.join(DIR, 'fifo-ckpt');
  fs.mkdirSync(ckpt);
  const shard = 'model-00001-of-00001.safetensors';
  cp.execFileSync('mkfifo', [path.join(ckpt, shard)]);
  fs.writeFileSync(path.join(ckpt, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: { 'transformer.wte.weight': shard } }));
  const { dc, launchError } = await run({ weights: ckpt });
  assert.match(launchError, /model-00001-of-00001\.safetensors: not a regular file \(a FIFO\)/);
  await disconnect(dc);
});

test('a config or weights file that is not JSON is not quoted in the Debug Console', async () => {
  const keyId = 'AKIAIOSFODNN7EXAMPLE';
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const env = path.join(DIR, 'credentials.json');
  fs.writeFileSync(env, `AWS_ACCESS_KEY_ID=${keyId}\nAWS_SECRET_ACCESS_KEY=${secret}\n`);
  const bin = path.join(DIR, 'blob.json');
  fs.writeFileSync(bin, Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(keyId + secret)]));
  const needles = [keyId.slice(0, 9), secret.slice(0, 9), secret.slice(-9), 'ACCESS_KEY'];
  for (const [args, want] of [[{ config: env }, /not JSON: it starts with 'A'/], [{ config: bin }, /not JSON: it holds binary data/],
    [{ weights: env }, /credentials\.json/], [{ weights: bin }, /blob\.json/]]) {
    const { dc, outputs, launchError } = await run(args);
    const text = launchError + '\n' + outputs.join('');
    assert.match(text, want, text);
    const all = JSON.stringify(dc.checker.received);
    for (const n of needles) assert.ok(!all.includes(n), `the adapter quoted '${n}' from ${JSON.stringify(args)}: ${text}`);
    await disconnect(dc);
  }
});
