// test_dap_inspect.js: what a client sees at a stop, beyond test_dap_debug.js. readMemory
// reads at most 1 MiB per request: a larger count is an error naming the limit, a tensor
// larger than that (attention probabilities [1, 4, 300, 300], 1.44 MB) reads in pieces that
// join up to exactly its bytes, and bytes past the end are unreadable. The "unknown name"
// error lists only names in scope at that stop: each name it lists evaluates there, and the
// usual names that are not in scope (a module without parameters has no `weight`) are not
// listed. Stack frames: every module frame has config.json as its source and a line, the
// root included (at `architectures`, the class it builds); an attention frame is at
// num_attention_heads, an MLP at intermediate_size, the layer list at num_hidden_layers.
// At the end of the pass the Debug Console line ranks only real logits: NaN logits are
// counted and said so, never listed as tokens.
// Every adapter message is schema-checked by the harness.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const ds = require('./lib/dap_session');

const { dir: DIR, config: CONFIG } = ds.scratch('ls-dap-inspect-', 1024);
const MiB = 1 << 20;

async function stopAt(glob, launchArgs = {}) {
  const { dc } = await ds.open(CONFIG, launchArgs, async (dc) => {
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: glob }] });
    await dc.configurationDoneRequest();
  });
  await ds.stopped(dc, 'function breakpoint');
  return dc;
}

async function variable(dc, scope, name) {
  const fr = await ds.frames(dc);
  const scopes = (await dc.scopesRequest({ frameId: fr[0].id })).body.scopes;
  const s = scopes.find((x) => x.name === scope);
  return (await dc.variablesRequest({ variablesReference: s.variablesReference })).body.variables.find((v) => v.name === name);
}

test('readMemory: at most 1 MiB per request, a larger tensor in pieces', async () => {
  const dc = await stopAt('model.layers.0.self_attn', { tokens: undefined, randomTokens: 300 });
  const probs = await variable(dc, 'Intermediates', 'probs');
  assert.match(probs.value, /^f32\[1,4,300,300\] /);
  const size = 4 * 4 * 300 * 300;
  const big = await dc.raw('readMemory', { memoryReference: probs.memoryReference, offset: 0, count: 2 * MiB });
  assert.strictEqual(big.success, false);
  assert.strictEqual(big.message, 'readMemory: \'count\' 2097152 is more than the 1048576 bytes (1 MiB) one request '
    + 'may read; read in pieces');
  const huge = await dc.raw('readMemory', { memoryReference: probs.memoryReference, count: 2 ** 40 });
  assert.strictEqual(huge.success, false);
  const first = (await dc.customRequest('readMemory', { memoryReference: probs.memoryReference, offset: 0, count: MiB })).body;
  const second = (await dc.customRequest('readMemory', { memoryReference: probs.memoryReference, offset: MiB, count: MiB })).body;
  assert.strictEqual(first.address, '0x0');
  assert.ok(!first.unreadableBytes, JSON.stringify(first.unreadableBytes));
  assert.strictEqual(second.address, '0x100000');
  const a = Buffer.from(first.data, 'base64');
  const b = Buffer.from(second.data, 'base64');
  assert.strictEqual(a.length, MiB);
  assert.strictEqual(b.length, size - MiB);
  assert.strictEqual(second.unreadableBytes, 2 * MiB - size);
  // a negative offset: the bytes before the tensor are skipped, the rest of the count is
  // read from its first byte (address 0x0); wholly before it, nothing
  const early = (await dc.customRequest('readMemory', { memoryReference: probs.memoryReference, offset: -8, count: 16 })).body;
  assert.strictEqual(early.address, '0x0');
  assert.deepStrictEqual(Buffer.from(early.data, 'base64'), a.subarray(0, 8));
  assert.ok(!early.unreadableBytes, JSON.stringify(early));
  for (const offset of [-16, -(2 ** 53)]) {
    const none = (await dc.customRequest('readMemory', { memoryReference: probs.memoryReference, offset, count: 16 })).body;
    assert.strictEqual(none.address, '0x0');
    assert.strictEqual(none.data, '', JSON.stringify(none));
  }
  // the bytes are the tensor's: each query row of head 0 is a softmax over keys 0..q
  const f = new Float32Array(Buffer.concat([a, b]).buffer.slice(0));
  for (const q of [0, 1, 150, 299]) {
    let sum = 0;
    for (let k = 0; k < 300; k++) sum += f[q * 300 + k];
    assert.ok(Math.abs(sum - 1) < 1e-4, `row ${q} sums to ${sum}`);
    assert.strictEqual(f[q * 300 + 299], q === 299 ? f[q * 300 + 299] : 0);
  }
  await ds.close(dc);
});

// The names an "unknown name" message offers: "(in scope: a, b, ...; kept outputs of N
// earlier modules, e.g. x, y)".
function offered(message) {
  const m = /^column 1: unknown name 'nosuch' \(in scope: ([^;)]*)(?:; kept outputs of (\d+) modules?, e\.g\. ([^)]*))?\)$/.exec(message);
  assert.ok(m, message);
  return { names: m[1].split(', '), kept: Number(m[2] || 0), examples: m[3] ? m[3].split(', ') : [] };
}

test('an unknown name lists only the names in scope at that stop', async () => {
  for (const [glob, has, hasNot] of [['model.layers.0.mlp', ['output', 'input', 'layer', 'depth'], ['weight', 'bias', 'probs']],
    ['model.layers.0.mlp.down_proj', ['output', 'input', 'weight'], ['bias']],
    ['model.layers.1.self_attn', ['output', 'probs'], ['weight', 'bias']]]) {
    const dc = await stopAt(glob);
    const r = await dc.raw('evaluate', { expression: 'nosuch', context: 'repl' });
    assert.strictEqual(r.success, false);
    const o = offered(r.message);
    for (const n of has) assert.ok(o.names.includes(n), `${glob}: ${n} in ${r.message}`);
    for (const n of hasNot) assert.ok(!o.names.includes(n), `${glob}: ${n} not in ${r.message}`);
    assert.ok(o.kept >= 1 && o.examples.length >= 1, r.message);
    for (const n of [...o.names, ...o.examples]) {
      const ok = await dc.raw('evaluate', { expression: n, context: 'repl' });
      assert.strictEqual(ok.success, true, `${glob}: '${n}' is offered but fails: ${ok.message}`);
    }
    for (const n of hasNot) assert.strictEqual((await dc.raw('evaluate', { expression: n, context: 'repl' })).success, false, n);
    await ds.close(dc);
  }
});

test('frames: attention at num_attention_heads, MLP at intermediate_size, lists at num_hidden_layers', async () => {
  const L = ds.LINES;
  for (const [glob, want] of [
    ['model.layers.1.self_attn', [['model.layers.1.self_attn', L.num_attention_heads], ['model.layers.1', L.num_hidden_layers],
      ['model.layers', L.num_hidden_layers]]],
    ['model.layers.0.mlp', [['model.layers.0.mlp', L.intermediate_size], ['model.layers.0', L.num_hidden_layers]]],
  ]) {
    const dc = await stopAt(glob);
    const fr = await ds.frames(dc);
    for (const [name, line] of want) {
      const f = fr.find((x) => x.name.split(' ')[0] === name);
      assert.strictEqual(f.line, line, `${name}: ${JSON.stringify(f)}`);
    }
    await ds.close(dc);
  }
});

test('frames: the root at architectures; every module frame has config.json as its source', async () => {
  const L = ds.LINES;
  const dc = await stopAt('model.layers.0.mlp.down_proj');
  const fr = await ds.frames(dc);
  const root = fr[fr.length - 1];
  assert.match(root.name, /^\(root\) \(LlamaForCausalLM\)$/);
  assert.strictEqual(root.line, L.architectures, JSON.stringify(root));
  for (const f of fr) {
    assert.strictEqual(f.source && f.source.path, CONFIG, JSON.stringify(f));
    assert.ok(f.line >= 1 && f.column >= 1, JSON.stringify(f));
  }
  await ds.close(dc);
  // stopped on entry, the root is the innermost frame: it sits on a line of config.json too
  const { dc: dc2 } = await ds.open(CONFIG, { stopOnEntry: true }, (d) => d.configurationDoneRequest());
  await ds.stopped(dc2, 'entry');
  const [top] = await ds.frames(dc2);
  assert.match(top.name, /^\(root\) \(LlamaForCausalLM, enter\)$/);
  assert.strictEqual(top.source.path, CONFIG);
  assert.strictEqual(top.line, L.architectures);
  await ds.close(dc2);
});

// Runs the pass to the end on weights edited by `edit`; the Debug Console's closing line.
async function doneLine(name, edit) {
  const weights = path.join(DIR, name);
  ds.writeSafetensors(weights, CONFIG, edit);
  const { dc } = await ds.open(CONFIG, { weights }, async (d) => {
    const terminated = d.waitForEvent('terminated', 20000);
    await d.configurationDoneRequest();
    await terminated;
  });
  await ds.close(dc);
  const line = dc.outputs.find((o) => /^forward pass done/.test(o));
  assert.ok(line, dc.outputs.join(''));
  return line;
}

test('NaN logits are counted, never ranked as next tokens', async () => {
  // a NaN in the final norm's weight: every logit of every position is NaN
  const all = await doneLine('nan-norm.safetensors', (name, a) => { if (name === 'model.norm.weight') a[0] = NaN; });
  assert.strictEqual(all, 'forward pass done: the logits contain 128 NaN of 128 values at the last position: '
    + 'no next tokens to rank\n');
  // a NaN in lm_head row 7: logit 7 is NaN, the rest are ranked
  const one = await doneLine('nan-row7.safetensors', (name, a, shape) => { if (name === 'lm_head.weight') a[7 * shape[1] + 3] = NaN; });
  const m = /^forward pass done: top-5 next tokens:((?: \d+ \(-?\d+\.\d{3}\)){5}); the logits contain 1 NaN of 128 values at the last position \(not ranked\)\n$/.exec(one);
  assert.ok(m, one);
  assert.ok(!/\b7 \(/.test(m[1]) && !/nan/i.test(m[1]), one);
});
