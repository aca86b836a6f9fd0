// test_dap_tensor.js: the custom DAP request `layerscopeTensor` (editor-extension/README.md)
// on a tiny random causal llama (2 layers, hidden 64, 4 heads), stopped at
// model.layers.0.self_attn: the capability in initialize; histograms whose counts sum to the
// element count and equal, bin by bin, counts computed here from the raw float32 bytes read
// with `readMemory` (lo/hi equal to the min/max of those bytes), by expression, by
// variablesReference and on an evaluated result; the heatmap of attention probabilities
// `probs` [1, 4, S, S]: each row sums to 1 and the upper triangle is 0 (causal softmax),
// values equal the bytes of that head; with 200 tokens the 200 x 200 matrix is block-averaged
// to 100 x 100 (block [2, 2]) and equals the block means computed here; and the errors
// (unknown name, not a tensor, not 2-4-D, head out of range, bins out of 1..4096, bad kind,
// stale reference, no tensor named). Every message is schema-checked: the harness for
// standard messages, lib/dap_custom.js for the custom reply (envelope + body).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const os = require('os');
const h = require('./lib/harness');
const { customErrors } = require('./lib/dap_custom');

const INIT_ARGS = { adapterID: 'layerscope', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' };
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-dap-tensor-'));
const CONFIG = path.join(DIR, 'config.json');
fs.writeFileSync(CONFIG, JSON.stringify({
  model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 128, hidden_size: 64, intermediate_size: 96,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256,
  bos_token_id: 1, tie_word_embeddings: false,
}, null, 2));

async function pausedAt(launchArgs, glob) {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  const initialized = dc.waitForEvent('initialized', 10000);
  const init = await dc.initializeRequest(INIT_ARGS);
  await dc.launchRequest({ config: CONFIG, threads: 1, ...launchArgs });
  await initialized;
  const stop = dc.waitForEvent('stopped', 30000);
  await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: glob }] });
  await dc.configurationDoneRequest();
  await stop;
  const fr = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
  const scopes = (await dc.scopesRequest({ frameId: fr[0].id })).body.scopes;
  const vars = {};
  for (const s of scopes)
    for (const v of (await dc.variablesRequest({ variablesReference: s.variablesReference })).body.variables) vars[v.name] = v;
  return { dc, init, frame: fr[0], vars };
}

// All float32 elements of a tensor variable, through readMemory (1 MiB per request at most).
async function floats(dc, v, n) {
  const parts = [];
  for (let off = 0; off < 4 * n; off += 1 << 20) {
    const r = await dc.customRequest('readMemory', { memoryReference: v.memoryReference, offset: off, count: Math.min(1 << 20, 4 * n - off) });
    parts.push(Buffer.from(r.body.data, 'base64'));
  }
  const b = Buffer.concat(parts);
  assert.strictEqual(b.length, 4 * n);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const tensor = (dc, args) => dc.customRequest('layerscopeTensor', args).then((r) => r.body);

// Counts of equal-width bins over [lo, hi], the last bin closed: computed here in double from
// the raw floats, independently of the adapter's code.
function binCounts(x, lo, hi, bins) {
  const c = new Array(bins).fill(0);
  const scale = bins / (hi - lo);
  for (const f of x) {
    if (!Number.isFinite(f)) continue;
    const k = Math.trunc((f - lo) * scale);
    c[Math.min(k, bins - 1)]++;
  }
  return c;
}

async function finish(dc) {
  const terminated = dc.waitForEvent('terminated', 20000);
  await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
  await dc.continueRequest({ threadId: 1 });
  await terminated;
  await dc.disconnectRequest({});
  const ex = await h.withTimeout(dc.proc.exitP, 20000, 'adapter exit');
  assert.strictEqual(ex.code, 0, dc.proc.stderrText.slice(-2000));
  assert.deepStrictEqual(customErrors(dc.checker), []);
  assert.deepStrictEqual(dc.checker.unanswered(), []);
}

test('capability, histograms against counts from the raw bytes, causal attention heatmap', async () => {
  const { dc, init, frame, vars } = await pausedAt({ tokens: [3, 17, 42, 99, 5, 64, 7, 120] }, 'model.layers.0.self_attn');
  assert.strictEqual(init.body.supportsLayerscopeTensor, true);
  assert.match(frame.name, /^model\.layers\.0\.self_attn /);
  assert.match(vars.output.value, /^f32\[1,8,64\] /);
  assert.match(vars.probs.value, /^f32\[1,4,8,8\] /);

  // histogram of `output` by expression: 16 bins over [min, max] of the raw bytes
  const out = await floats(dc, vars.output, 512);
  const hist = await tensor(dc, { expression: 'output', kind: 'histogram', bins: 16, frameId: frame.id });
  assert.deepStrictEqual(hist.shape, [1, 8, 64]);
  assert.strictEqual(hist.count, 512);
  assert.strictEqual(hist.histogram.counts.length, 16);
  assert.strictEqual(hist.histogram.counts.reduce((a, b) => a + b, 0), 512);
  assert.strictEqual(hist.histogram.lo, Math.min(...out));
  assert.strictEqual(hist.histogram.hi, Math.max(...out));
  assert.deepStrictEqual(hist.histogram.counts, binCounts(out, hist.histogram.lo, hist.histogram.hi, 16));

  // by variablesReference (what the Variables context menu sends; it wins over expression)
  const probs = await floats(dc, vars.probs, 4 * 8 * 8);
  const hp = await tensor(dc, { variablesReference: vars.probs.variablesReference, expression: 'output', kind: 'histogram' });
  assert.deepStrictEqual(hp.shape, [1, 4, 8, 8]);
  assert.strictEqual(hp.histogram.counts.length, 64); // the default
  assert.strictEqual(hp.histogram.counts.reduce((a, b) => a + b, 0), 256);
  assert.deepStrictEqual(hp.histogram.counts, binCounts(probs, hp.histogram.lo, hp.histogram.hi, 64));
  assert.strictEqual(hp.histogram.hi, Math.max(...probs));
  assert.strictEqual(hp.histogram.counts[0], probs.filter((p) => p < hp.histogram.lo + (hp.histogram.hi - hp.histogram.lo) / 64).length);
  // the upper triangles of 4 causal 8 x 8 matrices are 4 * 28 exact zeros: all in bin 0
  assert.ok(hp.histogram.counts[0] >= 4 * 28);

  // an evaluated result (a new tensor): 2 * output spans twice the range
  const h2 = await tensor(dc, { expression: 'output * 2', kind: 'histogram', bins: 7 });
  assert.strictEqual(h2.histogram.lo, 2 * hist.histogram.lo);
  assert.strictEqual(h2.histogram.hi, 2 * hist.histogram.hi);
  assert.deepStrictEqual(h2.histogram.counts, binCounts(out.map((v) => 2 * v), h2.histogram.lo, h2.histogram.hi, 7));
  // a constant tensor gets a width; all of it in the middle bin
  const hc = await tensor(dc, { expression: 'output * 0 + 3', kind: 'histogram', bins: 5 });
  assert.deepStrictEqual(hc.histogram.counts, [0, 0, 512, 0, 0]);

  // heatmap of head 2: causal softmax rows
  const hm = await tensor(dc, { expression: 'probs', kind: 'heatmap', head: 2 });
  assert.deepStrictEqual([hm.heatmap.rows, hm.heatmap.cols, hm.head, hm.heads, hm.downsampled], [8, 8, 2, 4, false]);
  assert.deepStrictEqual(hm.block, [1, 1]);
  for (let r = 0; r < 8; r++) {
    const row = hm.heatmap.values.slice(r * 8, r * 8 + 8);
    const sum = row.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} sums to ${sum}`);
    for (let c = r + 1; c < 8; c++) assert.strictEqual(row[c], 0, `[${r}, ${c}] above the diagonal`);
    assert.ok(row[0] > 0);
    for (let c = 0; c < 8; c++) assert.ok(Math.abs(row[c] - probs[2 * 64 + r * 8 + c]) < 1e-7, `[${r}, ${c}]`);
  }
  // the first query attends only to itself
  assert.ok(Math.abs(hm.heatmap.values[0] - 1) < 1e-6);
  // a 3-D tensor: [heads = 1, 8, 64] -> the 8 x 64 matrix
  const ho = await tensor(dc, { variablesReference: vars.output.variablesReference, kind: 'heatmap' });
  assert.deepStrictEqual([ho.heatmap.rows, ho.heatmap.cols, ho.heads], [8, 64, 1]);
  for (let i = 0; i < 512; i++) assert.ok(Math.abs(ho.heatmap.values[i] - out[i]) <= 1e-7 * Math.abs(out[i]) + 1e-12);

  // errors name the problem
  for (const [args, re] of [
    [{ expression: 'nosuch', kind: 'histogram' }, /'nosuch': column 1: unknown name 'nosuch'/],
    [{ expression: 'output.mean', kind: 'histogram' }, /'output.mean' is a number, not a tensor/],
    [{ expression: 'stats output', kind: 'histogram' }, /is a text report, not a tensor/],
    [{ expression: 'output[0, 0]', kind: 'heatmap' }, /heatmap needs a 2-D .*'output\[0, 0\]' is f32\[64\]/],
    [{ expression: 'probs', kind: 'heatmap', head: 4 }, /head 4 out of range: 'probs' has 4 heads \(0\.\.3\)/],
    [{ expression: 'probs', kind: 'heatmap', head: -1 }, /'head' must be an integer/],
    [{ expression: 'output', kind: 'histogram', bins: 0 }, /'bins' must be an integer in 1\.\.4096/],
    [{ expression: 'output', kind: 'histogram', bins: 4097 }, /'bins' must be an integer in 1\.\.4096/],
    [{ expression: 'output', kind: 'histogram', bins: 2.5 }, /'bins' must be an integer/],
    [{ expression: 'output', kind: 'picture' }, /'kind' must be "histogram" or "heatmap"/],
    [{ variablesReference: 99999, kind: 'histogram' }, /variablesReference 99999 is not a tensor of this stop/],
    [{ expression: 7, kind: 'histogram' }, /'expression' must be a string/],
    [{ kind: 'histogram' }, /give the tensor as 'expression' or 'variablesReference'/],
  ]) {
    const r = await dc.raw('layerscopeTensor', args);
    assert.strictEqual(r.success, false, JSON.stringify(args));
    assert.match(r.message, re, JSON.stringify(args));
  }
  // references end at resume: after the next stop the old one is stale or another tensor
  const stale = vars.probs.variablesReference;
  const second = dc.waitForEvent('stopped', 20000);
  await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'model.layers.1.self_attn' }] });
  await dc.continueRequest({ threadId: 1 });
  await second;
  const r = await dc.raw('layerscopeTensor', { variablesReference: stale, kind: 'histogram' });
  assert.strictEqual(r.success, false);
  assert.match(r.message, /not a tensor of this stop/);
  await finish(dc);
});

test('200 tokens: the 200 x 200 attention matrix is block-averaged to 100 x 100', async () => {
  const { dc, vars } = await pausedAt({ randomTokens: 200, seed: 7 }, 'model.layers.1.self_attn');
  assert.match(vars.probs.value, /^f32\[1,4,200,200\] /);
  const S = 200, head = 3;
  const probs = await floats(dc, vars.probs, 4 * S * S);
  const hm = await tensor(dc, { expression: 'probs', kind: 'heatmap', head });
  assert.deepStrictEqual([hm.heatmap.rows, hm.heatmap.cols, hm.downsampled], [100, 100, true]);
  assert.deepStrictEqual(hm.block, [2, 2]);
  assert.deepStrictEqual(hm.source, [S, S]);
  assert.deepStrictEqual(hm.shape, [1, 4, S, S]);
  const base = head * S * S;
  for (let r = 0; r < 100; r++) {
    let rowSum = 0;
    for (let c = 0; c < 100; c++) {
      let s = 0;
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) s += probs[base + (2 * r + i) * S + 2 * c + j];
      const v = hm.heatmap.values[r * 100 + c];
      assert.ok(Math.abs(v - s / 4) < 1e-7, `[${r}, ${c}] ${v} vs ${s / 4}`);
      rowSum += v;
      if (c > r) assert.strictEqual(v, 0, `block [${r}, ${c}] above the diagonal`);
    }
    // a block row holds 2 query rows of sum 1 over 2 x 2 blocks: its cells sum to 2 / 4
    assert.ok(Math.abs(rowSum - 0.5) < 1e-5, `block row ${r} sums to ${rowSum}`);
  }
  // the full-size histogram of the same tensor still counts every element
  const hp = await tensor(dc, { variablesReference: vars.probs.variablesReference, kind: 'histogram', bins: 4096 });
  assert.strictEqual(hp.histogram.counts.reduce((a, b) => a + b, 0), 4 * S * S);
  assert.deepStrictEqual(hp.histogram.counts, binCounts(probs, hp.histogram.lo, hp.histogram.hi, 4096));
  await finish(dc);
});

test('layerscopeTensor before the pass is stopped is refused', async () => {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  await dc.initializeRequest(INIT_ARGS);
  const r = await dc.raw('layerscopeTensor', { expression: 'output', kind: 'histogram' });
  assert.strictEqual(r.success, false);
  assert.match(r.message, /only possible while the forward pass is stopped/);
  await dc.disconnectRequest({});
  await h.withTimeout(dc.proc.exitP, 20000, 'adapter exit');
  assert.deepStrictEqual(customErrors(dc.checker), []);
});
