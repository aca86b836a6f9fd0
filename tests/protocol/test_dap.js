// test_dap.js: the DAP lifecycle through @vscode/debugadapter-testsupport's DebugClient:
// initialize (capabilities), launch argument validation with clear error responses,
// the `initialized` event, configurationDone, threads, terminate, disconnect, unknown
// commands, requests out of order, and raw malformed input. Every adapter message is
// validated against debugAdapterProtocol.json (ajv) and checked for seq order, request_seq /
// command pairing and exactly one response per request.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const os = require('os');
const h = require('./lib/harness');
const ds = require('./lib/dap_session');

const CONFIG = path.join(h.FIXTURES, 'model', 'config.json');
const INIT_ARGS = { adapterID: 'layerscope', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' };

async function done(dc, wantCode = 0) {
  const ex = await h.withTimeout(dc.proc.exitP, 10000, 'adapter exit');
  assert.strictEqual(ex.signal, null, dc.proc.stderrText.slice(-2000));
  assert.strictEqual(ex.code, wantCode);
  assert.deepStrictEqual(dc.checker.errors, []);
  assert.deepStrictEqual(dc.checker.unanswered(), []);
}

test('initialize, launch, initialized event, configurationDone, threads, disconnect', async () => {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  const initialized = dc.waitForEvent('initialized', 5000);
  const init = await dc.initializeRequest(INIT_ARGS);
  assert.strictEqual(init.body.supportsConfigurationDoneRequest, true);
  assert.strictEqual(init.body.supportsTerminateRequest, true);
  const before = await dc.threadsRequest();
  assert.deepStrictEqual(before.body.threads, []);
  // compute: 'bf16' runs the bf16 products where the CPU has AVX512_BF16 and says it falls
  // back to fp32 elsewhere; either way the pass runs to the end.
  await dc.launchRequest({ config: CONFIG, randomTokens: 8, seed: 1, stopOnEntry: false, threads: 2, showNativeFrames: false, compute: 'bf16' });
  await initialized;
  const threads = await dc.threadsRequest();
  assert.deepStrictEqual(threads.body.threads, [{ id: 1, name: 'forward pass' }]);
  const outputs = [];
  dc.on('output', (e) => outputs.push(e.body.output));
  const terminated = dc.waitForEvent('terminated', 20000);
  await dc.configurationDoneRequest();
  await terminated;
  // The forward pass ran to the end and reported its result in the Debug Console.
  assert.ok(outputs.some((o) => /forward pass done: top-\d+ next tokens/.test(o)), outputs.join(''));
  await dc.disconnectRequest({ terminateDebuggee: true });
  await done(dc);
});

test('launch arguments are validated with errors naming the argument', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-dap-'));
  const unreadable = path.join(dir, 'secret.json');
  fs.writeFileSync(unreadable, '{}');
  fs.chmodSync(unreadable, 0o000);
  const cases = [
    [{}, /'config' is required/],
    [{ config: 42 }, /'config' must be a non-empty string path, got an integer/],
    [{ config: '' }, /'config' must be a non-empty string path, got an empty string/],
    [{ config: path.join(dir, 'missing.json') }, /config file '.*missing\.json' cannot be opened: No such file/],
    [{ config: dir }, /is not a regular file/],
    [{ config: CONFIG, weights: path.join(dir, 'nope.safetensors') }, /weights file .* cannot be opened/],
    [{ config: CONFIG, tokens: [] }, /'tokens' must be a non-empty array/],
    [{ config: CONFIG, tokens: [1, -2] }, /'tokens\[1\]' must be a token id/],
    [{ config: CONFIG, tokens: [1, 'a'] }, /'tokens\[1\]' must be a token id .* got a string/],
    [{ config: CONFIG, tokens: [1], randomTokens: 4 }, /either 'tokens' or 'randomTokens'/],
    [{ config: CONFIG, randomTokens: 0 }, /'randomTokens' must be an integer in \[1, /],
    [{ config: CONFIG, seed: -1 }, /'seed' must be an integer/],
    [{ config: CONFIG, seed: 1.5 }, /'seed' must be an integer .* got a number/],
    [{ config: CONFIG, threads: 0 }, /'threads' must be an integer in \[1, 1024\]/],
    [{ config: CONFIG, compute: 'fp8' }, /'compute' must be "fp32" or "bf16", got fp8/],
    [{ config: CONFIG, compute: 16 }, /'compute' must be "fp32" or "bf16", got an integer/],
    [{ config: CONFIG, stopOnEntry: 'yes' }, /'stopOnEntry' must be a boolean, got a string/],
    [{ config: CONFIG, showNativeFrames: 1 }, /'showNativeFrames' must be a boolean/],
    [{ config: 'config.json', cwd: 7 }, /'cwd' must be a string/],
  ];
  if (process.getuid && process.getuid() !== 0) cases.push([{ config: unreadable }, /is not readable/]);
  const dc = new h.CheckedDebugClient();
  await dc.start();
  await dc.initializeRequest(INIT_ARGS);
  for (const [args, re] of cases) {
    const r = await dc.raw('launch', args);
    assert.strictEqual(r.success, false, JSON.stringify(args));
    assert.match(r.message, re, JSON.stringify(args));
    assert.strictEqual(r.body.error.format, r.message);
    assert.strictEqual(r.body.error.showUser, true);
  }
  // attach needs the socket of a program that called layerscope_agent.listen(); a missing
  // or wrong one is an error naming it. A relative config resolves against cwd.
  const at = await dc.raw('attach', {});
  assert.strictEqual(at.success, false);
  assert.match(at.message, /attach: argument 'connect' is required/);
  const at2 = await dc.raw('attach', { connect: path.join(path.dirname(CONFIG), 'no-such.sock') });
  assert.strictEqual(at2.success, false);
  assert.match(at2.message, /attach: .*no-such\.sock: No such file or directory \(did the program call layerscope_agent\.listen\(\)\?\)/);
  const ok = await dc.raw('launch', { config: 'config.json', cwd: path.dirname(CONFIG), tokens: [1, 2, 3] });
  assert.strictEqual(ok.success, true, ok.message);
  // A second launch is refused: the session is configuring now.
  const again = await dc.raw('launch', { config: CONFIG });
  assert.strictEqual(again.success, false);
  assert.match(again.message, /while the session is configuring/);
  await dc.disconnectRequest({});
  await done(dc);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a launch that cannot run is an error response naming the problem; unknown keys are reported', async () => {
  const { dir, config } = ds.scratch('ls-dap-launch-');
  const wrong = path.join(dir, 'wrong.safetensors');
  ds.writeSafetensors(wrong, config, undefined, (name, shape) => (name === 'model.layers.1.mlp.up_proj.weight' ? [96, 65] : shape));
  const broken = path.join(dir, 'broken.json');
  fs.writeFileSync(broken, fs.readFileSync(config, 'utf8').replace('"num_attention_heads": 4', '"num_attention_heads": 0'));
  const dc = new h.CheckedDebugClient();
  await dc.start();
  await dc.initializeRequest(INIT_ARGS);
  const outputs = [];
  dc.on('output', (e) => outputs.push(e.body));
  for (const [args, re] of [
    [{ config, tokens: [1, 128, 5] }, /^launch: tokens: token 128 at position 1 is outside the vocabulary \(vocab_size 128\)$/],
    [{ config, weights: wrong, tokens: [1] },
      /^launch: .*wrong\.safetensors: tensor model\.layers\.1\.mlp\.up_proj\.weight has shape \[96, 65\], the config implies \[96, 64\]$/],
    [{ config: CONFIG, randomTokens: 129 }, /^launch: randomTokens: 129 tokens exceed the 128 learned positions$/],
    [{ config: broken }, /num_attention_heads/],
  ]) {
    const r = await dc.raw('launch', args);
    assert.strictEqual(r.success, false, JSON.stringify(args));
    assert.match(r.message, re);
    assert.strictEqual(r.body.error.id, 1002);
  }
  assert.deepStrictEqual(outputs, [], 'a refused launch prints nothing');
  // VS Code's own keys are not reported; a typo is, with the known keys
  const initialized = dc.waitForEvent('initialized', 5000);
  const ok = await dc.raw('launch', { type: 'layerscope', request: 'launch', name: 'debug', __sessionId: 'x1',
    __configurationTarget: 6, noDebug: false, preLaunchTask: 'build', internalConsoleOptions: 'neverOpen',
    config, tokens: [1, 2], stopOnEnty: true, treads: 2 });
  assert.strictEqual(ok.success, true, ok.message);
  await initialized;
  assert.strictEqual(outputs.length, 1, JSON.stringify(outputs));
  assert.strictEqual(outputs[0].category, 'important');
  assert.strictEqual(outputs[0].output, "layerscope: unknown launch arguments 'stopOnEnty', 'treads' (ignored; the known ones are "
    + 'config, model, randomWeights, layers, generate, weights, tokens, attentionMask, randomTokens, prompt, tokenizer, seed, threads, compute, stopOnEntry, showNativeFrames, noDebug, cwd, '
    + 'program, module, args, env, python, connect, record)\n');
  await dc.disconnectRequest({});
  await done(dc);
});

test('launch model: DIR finds config.json and the weights, and says which; random weights only when asked', async () => {
  const { dir, config } = ds.scratch('ls-dap-model-');
  const mdir = path.join(dir, 'hub');
  fs.mkdirSync(mdir);
  fs.copyFileSync(config, path.join(mdir, 'config.json'));
  const dc = new h.CheckedDebugClient();
  await dc.start();
  await dc.initializeRequest(INIT_ARGS);
  const bare = await dc.raw('launch', { model: mdir, tokens: [1, 2] });
  assert.strictEqual(bare.success, false);
  assert.match(bare.message, /config\.json but no weights .*"randomWeights": true/);
  ds.writeSafetensors(path.join(mdir, 'model.safetensors'), config);
  const outputs = [];
  dc.on('output', (e) => outputs.push(e.body.output));
  const initialized = dc.waitForEvent('initialized', 5000);
  const ok = await dc.raw('launch', { model: mdir, tokens: [1, 2] });
  assert.strictEqual(ok.success, true, ok.message);
  await initialized;
  const terminated = dc.waitForEvent('terminated', 20000);
  await dc.configurationDoneRequest();
  await terminated;
  const all = outputs.join('');
  assert.ok(all.includes('weights: ' + path.join(mdir, 'model.safetensors')), all);
  assert.match(all, /forward pass done: top-\d+ next tokens/);
  await dc.disconnectRequest({});
  await done(dc);
  // config.json alone, random weights asked for: announced
  fs.rmSync(path.join(mdir, 'model.safetensors'));
  const dc2 = new h.CheckedDebugClient();
  await dc2.start();
  await dc2.initializeRequest(INIT_ARGS);
  const out2 = [];
  dc2.on('output', (e) => out2.push(e.body.output));
  const init2 = dc2.waitForEvent('initialized', 5000);
  const r2 = await dc2.raw('launch', { model: mdir, randomWeights: true, tokens: [1, 2] });
  assert.strictEqual(r2.success, true, r2.message);
  await init2;
  const term2 = dc2.waitForEvent('terminated', 20000);
  await dc2.configurationDoneRequest();
  await term2;
  assert.match(out2.join(''), /weights: none, seeded random \(seed 0\)/);
  await dc2.disconnectRequest({});
  await done(dc2);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('unknown commands, requests out of order, terminate', async () => {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  const early = await dc.raw('threads', {});
  assert.strictEqual(early.success, false);
  assert.match(early.message, /'threads' received before 'initialize'/);
  const bad = await dc.raw('initialize', { adapterID: 5 });
  assert.strictEqual(bad.success, false);
  assert.match(bad.message, /'adapterID' must be a string/);
  await dc.initializeRequest(INIT_ARGS);
  const twice = await dc.raw('initialize', INIT_ARGS);
  assert.match(twice.message, /only be sent once/);
  const unknown = await dc.raw('frobnicate', { x: 1 });
  assert.strictEqual(unknown.success, false);
  assert.strictEqual(unknown.message, "unknown command 'frobnicate'");
  assert.strictEqual(unknown.body.error.id, 1001);
  const cd = await dc.raw('configurationDone', {});
  assert.match(cd.message, /expected after a successful launch/);
  await dc.launchRequest({ config: CONFIG });
  const terminated = dc.waitForEvent('terminated', 5000);
  await dc.terminateRequest({});
  await terminated;
  await dc.disconnectRequest({});
  await done(dc);
});

test('raw malformed input: ignored or answered, and the adapter keeps serving', async () => {
  const checker = new h.DapChecker();
  const s = new h.RawSession(['dap'], {}, null);
  const send = async (obj) => { if (obj.type === 'request') checker.fromClient(obj.seq, typeof obj.command === 'string' ? obj.command : ''); await s.send(h.frame(obj)); };
  await s.send(Buffer.from('Content-Length: zz\r\n\r\n'));
  await s.send(h.frame('{not json'));
  await s.send(h.frame('[1,2,3]'));
  await send({ seq: 1, type: 'request', command: 'initialize', arguments: 'nope' });
  await send({ seq: 2, type: 'request', command: 7 });
  await send({ seq: 3, type: 'request', command: 'initialize', arguments: INIT_ARGS });
  const r = await s.waitFor((m) => m.request_seq === 3, 5000, 'initialize response');
  assert.strictEqual(r.success, true);
  assert.strictEqual(s.msgs.find((m) => m.request_seq === 1).message, "initialize: 'arguments' must be an object");
  assert.match(s.msgs.find((m) => m.request_seq === 2).message, /'command' must be a string/);
  for (const m of s.msgs) checker.fromAdapter(m);
  assert.deepStrictEqual(checker.errors, []);
  const ex = await s.end(); // end of input: clean exit
  assert.strictEqual(ex.code, 0);
  assert.deepStrictEqual(s.framingErrors, []);
});
