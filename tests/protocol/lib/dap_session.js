// dap_session.js: a debug session on a tiny random llama (2 layers, hidden 64) for the DAP
// tests that stop the forward pass: the config (written to a scratch folder, with the key
// lines fixed below), a session helper (initialize, launch, wait for `initialized`, then a
// setup callback that sets breakpoints and sends configurationDone) whose `stopped` events
// are queued as they arrive, and the closing checks (clean exit, every request answered,
// every message schema-valid through the harness). Weights with chosen values go through
// writeSafetensors, which writes the format from its specification (8-byte little-endian
// header length, JSON header, raw data).
'use strict';
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const os = require('os');
const cp = require('child_process');
const h = require('./harness');

const INIT_ARGS = { adapterID: 'layerscope', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path',
  supportsProgressReporting: true };
const TOKENS = [3, 17, 42, 99, 5, 64, 7, 120];

// Line numbers of the keys in CONFIG_TEXT (1-based), which the tests assert frames against.
const LINES = { model_type: 2, architectures: 3, vocab_size: 4, hidden_size: 5, intermediate_size: 6,
  num_hidden_layers: 7, num_attention_heads: 8, num_key_value_heads: 9 };
function configText(maxPos = 64) {
  return `{
  "model_type": "llama",
  "architectures": ["LlamaForCausalLM"],
  "vocab_size": 128,
  "hidden_size": 64,
  "intermediate_size": 96,
  "num_hidden_layers": 2,
  "num_attention_heads": 4,
  "num_key_value_heads": 2,
  "max_position_embeddings": ${maxPos},
  "bos_token_id": 1,
  "tie_word_embeddings": false
}
`;
}

// A scratch folder with config.json; returns its paths.
function scratch(prefix, maxPos) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, configText(maxPos));
  return { dir, config };
}

// Writes every parameter tensor of `config` (names and shapes from `layerscope summary`) as
// F32: small seeded values, norms 1, then edit(name, Float32Array, shape) may change them.
// shapeOf(name, shape) may return another shape to store (for wrong-shape tests).
function writeSafetensors(file, config, edit = () => {}, shapeOf = (n, s) => s) {
  const sum = JSON.parse(cp.execFileSync(h.BIN, ['summary', config, '--format', 'json']).toString());
  const header = {};
  const bufs = [];
  let off = 0;
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
  for (const t of sum.tensors) {
    const shape = shapeOf(t.name, t.shape);
    const n = shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    const isNorm = /norm\.weight$/.test(t.name);
    for (let i = 0; i < n; i++) a[i] = isNorm ? 1 : rnd() * 0.2;
    edit(t.name, a, shape);
    header[t.name] = { dtype: 'F32', shape, data_offsets: [off, off + 4 * n] };
    off += 4 * n;
    bufs.push(Buffer.from(a.buffer));
  }
  const hb = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  fs.writeFileSync(file, Buffer.concat([len, hb, ...bufs]));
}

// Starts a session on `config`; setup(dc, init) sets breakpoints and sends configurationDone
// (or not); its result is returned as `res`. Output events are collected in dc.outputs.
async function open(config, launchArgs, setup) {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  dc.stops = [];
  dc.stopWaiters = [];
  dc.outputs = [];
  dc.on('stopped', (e) => { const w = dc.stopWaiters.shift(); if (w) w(e); else dc.stops.push(e); });
  dc.on('output', (e) => dc.outputs.push(e.body.output));
  const initialized = dc.waitForEvent('initialized', 10000);
  const init = await dc.initializeRequest(INIT_ARGS);
  await dc.launchRequest({ config, tokens: TOKENS, threads: 1, ...launchArgs });
  await initialized;
  const res = await setup(dc, init);
  return { dc, res };
}

async function stopped(dc, reason) {
  const ev = dc.stops.length ? dc.stops.shift()
    : await h.withTimeout(new Promise((res) => dc.stopWaiters.push(res)), 20000, `stopped event (${reason || 'any'})`);
  if (reason) assert.strictEqual(ev.body.reason, reason, JSON.stringify(ev.body));
  return ev;
}

async function frames(dc) {
  return (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
}

// A request that must be answered (success or not) within ms.
function answered(dc, command, args, ms = 5000) {
  return h.withTimeout(dc.raw(command, args), ms, `a response to ${command} ${JSON.stringify(args).slice(0, 80)}`);
}

// The adapter exited cleanly, answered every request, and every message was schema-valid.
async function finish(dc) {
  const ex = await h.withTimeout(dc.proc.exitP, 20000, 'adapter exit');
  assert.strictEqual(ex.signal, null, dc.proc.stderrText.slice(-2000));
  assert.strictEqual(ex.code, 0, dc.proc.stderrText.slice(-2000));
  assert.deepStrictEqual(dc.checker.errors, []);
  assert.deepStrictEqual(dc.checker.unanswered(), []);
}

// Disconnects (a paused pass is ended) and checks the exit.
async function close(dc) {
  await dc.disconnectRequest({});
  await finish(dc);
}

// Continues to the end of the pass (no more stops expected), then disconnects.
async function endRun(dc) {
  const terminated = dc.waitForEvent('terminated', 20000);
  await dc.continueRequest({ threadId: 1 });
  await terminated;
  await close(dc);
}

module.exports = { INIT_ARGS, TOKENS, LINES, configText, scratch, writeSafetensors, open, stopped, frames, answered,
  finish, close, endRun };
