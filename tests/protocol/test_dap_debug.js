// test_dap_debug.js: the debugger through @vscode/debugadapter-testsupport on a tiny random
// llama (2 layers, hidden 64): function breakpoints (globs, verification counts, stop order,
// hit ids), stack frames innermost first with config lines, scopes and one-line tensor
// values whose mean is recomputed here from the raw elements paged through `variables`,
// conditions, a source breakpoint on the intermediate_size line, stepping order, evaluate
// results and errors, and the NaN exception filter on a safetensors file written here with
// one NaN planted in model.layers.1.mlp.down_proj.weight[5, 17]: the stop must be exactly
// at that module, with 8 of 512 values NaN (column 5 of every token). Every adapter message
// is validated against the DAP schema by the harness.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');

const ds = require('./lib/dap_session');

// the config of lib/dap_session.js: intermediate_size is line 6, num_hidden_layers line 7
const { dir: DIR, config: CONFIG } = ds.scratch('ls-dap-debug-');
const { stopped, frames, finish, endRun } = ds;

function writeWeights(file, nanAt) {
  ds.writeSafetensors(file, CONFIG, (name, a, shape) => { if (name === nanAt.name) a[nanAt.row * shape[1] + nanAt.col] = NaN; });
}

const session = (launchArgs, setup) => ds.open(CONFIG, launchArgs, setup);

test('function breakpoints: verification, stops in order, frames, scopes, tensor lines', async () => {
  let verdict;
  const { dc, res: init } = await session({}, async (dc, init) => {
    verdict = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'model.layers.*.mlp' }, { name: 'model.layers.9' }] });
    await dc.configurationDoneRequest();
    return init;
  });
  assert.strictEqual(init.body.supportsFunctionBreakpoints, true);
  assert.deepStrictEqual(init.body.exceptionBreakpointFilters.map((f) => f.filter), ['nan', 'inf', 'fp16']);
  const [mlp, nine] = verdict.body.breakpoints;
  assert.strictEqual(mlp.verified, true);
  assert.strictEqual(mlp.message, 'matches 2 modules');
  assert.strictEqual(nine.verified, false);
  assert.match(nine.message, /no module matches 'model\.layers\.9'/);

  const ev = await stopped(dc, 'function breakpoint');
  assert.deepStrictEqual(ev.body.hitBreakpointIds, [mlp.id]);
  // weights (here the seeded random initialisation) were bound with progress events
  const kinds = dc.checker.received.filter((m) => m.type === 'event').map((m) => m.event);
  assert.ok(kinds.indexOf('progressStart') >= 0 && kinds.indexOf('progressEnd') > kinds.indexOf('progressStart'), kinds.join());
  const fr = await frames(dc);
  assert.deepStrictEqual(fr.map((f) => f.name.split(' ')[0]), ['model.layers.0.mlp', 'model.layers.0', 'model.layers', 'model', '(root)']);
  assert.match(fr[0].name, /LlamaMLP, exit/);
  assert.strictEqual(fr[1].line, 7); // a layer is located at num_hidden_layers
  assert.strictEqual(fr[1].source.path, CONFIG);
  const scopes = (await dc.scopesRequest({ frameId: fr[0].id })).body.scopes;
  assert.deepStrictEqual(scopes.map((s) => s.name), ['Inputs', 'Outputs', 'Parameters', 'Intermediates']);
  const outs = (await dc.variablesRequest({ variablesReference: scopes[1].variablesReference })).body.variables;
  const out = outs.find((v) => v.name === 'output');
  const m = out.value.match(/^f32\[1,8,64\] μ=(\S+) σ=(\S+) \[(\S+), (\S+)\] nan=0 inf=0 zeros=\S+%$/);
  assert.ok(m, out.value);
  assert.strictEqual(out.indexedVariables, 1);
  // recompute the mean from the raw elements, paged level by level: output[0][t][i]
  const l0 = (await dc.variablesRequest({ variablesReference: out.variablesReference, filter: 'indexed' })).body.variables;
  assert.strictEqual(l0.length, 1);
  assert.strictEqual(l0[0].indexedVariables, 8);
  const page = (await dc.variablesRequest({ variablesReference: l0[0].variablesReference, filter: 'indexed', start: 2, count: 3 })).body.variables;
  assert.deepStrictEqual(page.map((v) => v.name), ['[2]', '[3]', '[4]']);
  let sum = 0, n = 0, max = -Infinity, row0;
  for (let t = 0; t < 8; t++) {
    const row = (await dc.variablesRequest({ variablesReference: l0[0].variablesReference, filter: 'indexed', start: t, count: 1 })).body.variables[0];
    const el = (await dc.variablesRequest({ variablesReference: row.variablesReference, filter: 'indexed' })).body.variables;
    assert.strictEqual(el.length, 64);
    if (t === 0) row0 = el.map((e) => Number(e.value));
    for (const e of el) { sum += Number(e.value); n++; max = Math.max(max, Number(e.value)); }
  }
  assert.strictEqual(n, 512);
  const mean = sum / n;
  assert.ok(Math.abs(mean - Number(m[1])) <= 0.0051 * Math.max(Math.abs(mean), 1e-3) + 1e-6, `mean ${mean} vs ${m[1]}`);
  assert.ok(Math.abs(max - Number(m[4])) <= 0.005 * Math.abs(max), `max ${max} vs ${m[4]}`);
  // raw bytes: the first 4 floats of the output are row 0's first elements; past the end is unreadable
  assert.match(out.memoryReference, /^tensor:\d+$/);
  const mem = await dc.customRequest('readMemory', { memoryReference: out.memoryReference, offset: 0, count: 16 });
  const raw = Buffer.from(mem.body.data, 'base64');
  const f = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(f[i] - row0[i]) <= 1e-5 * Math.abs(f[i]) + 1e-9, `${f[i]} vs ${row0[i]}`);
  const tail = await dc.customRequest('readMemory', { memoryReference: out.memoryReference, offset: 2040, count: 16 });
  assert.strictEqual(Buffer.from(tail.body.data, 'base64').length, 8);
  assert.strictEqual(tail.body.unreadableBytes, 8);
  // the same element through evaluate
  const el3 = (await dc.evaluateRequest({ expression: 'output[0, 3, 10]', context: 'repl' })).body.result;
  const row3 = (await dc.variablesRequest({ variablesReference: l0[0].variablesReference, filter: 'indexed', start: 3, count: 1 })).body.variables[0];
  const els = (await dc.variablesRequest({ variablesReference: row3.variablesReference, filter: 'indexed', start: 10, count: 1 })).body.variables;
  assert.ok(Math.abs(Number(el3) - Number(els[0].value)) <= 1e-5 * Math.abs(Number(el3)) + 1e-9);

  const cont = dc.continueRequest({ threadId: 1 });
  await cont;
  await stopped(dc, 'function breakpoint');
  assert.match((await frames(dc))[0].name, /^model\.layers\.1\.mlp /);
  // kept outputs of earlier modules by path
  const r = await dc.evaluateRequest({ expression: 'model.layers.0.mlp.numel + layer', context: 'repl' });
  assert.strictEqual(r.body.result, '513');
  const output = dc.waitForEvent('output', 20000);
  await endRun(dc);
  assert.match((await output).body.output, /top-5 next tokens/);
});

test('NaN filter stops exactly at the module where the NaN appears', async () => {
  const weights = path.join(DIR, 'nan.safetensors');
  writeWeights(weights, { name: 'model.layers.1.mlp.down_proj.weight', row: 5, col: 17 });
  const { dc } = await session({ weights }, async (dc) => {
    await dc.setExceptionBreakpointsRequest({ filters: ['nan'] });
    await dc.configurationDoneRequest();
  });
  const ev = await stopped(dc, 'exception');
  assert.strictEqual(ev.body.description, 'NaN in model.layers.1.mlp.down_proj output: 8 of 512 values, first at [0, 0, 5]');
  const fr = await frames(dc);
  assert.match(fr[0].name, /^model\.layers\.1\.mlp\.down_proj \(Linear, exit\)/);
  const info = await dc.customRequest('exceptionInfo', { threadId: 1 });
  assert.strictEqual(info.body.exceptionId, 'nan');
  assert.strictEqual(info.body.description, ev.body.description);
  const nan = await dc.evaluateRequest({ expression: 'output.nan == 8 && output[0, :, 5].nan == 8 && input.nan == 0', context: 'watch' });
  assert.strictEqual(nan.body.result, '1');
  await endRun(dc);
});

test('conditions, a config-line breakpoint, stepping order, evaluate errors', async () => {
  let fbp, sbp;
  const { dc } = await session({}, async (dc) => {
    fbp = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: '*.self_attn', condition: 'layer >= 1 && output.nan == 0' }] });
    sbp = await dc.setBreakpointsRequest({ source: { path: CONFIG }, breakpoints: [{ line: 6, condition: 'layer == 0' }, { line: 11 }, { line: 1 }] });
    await dc.configurationDoneRequest();
  });
  assert.strictEqual(fbp.body.breakpoints[0].verified, true);
  const [l6, l11, l1] = sbp.body.breakpoints;
  assert.strictEqual(l6.verified, true);
  assert.match(l6.message, /'intermediate_size' configures 2 modules/);
  assert.strictEqual(l6.line, 6);
  assert.strictEqual(l11.verified, false);
  assert.strictEqual(l1.verified, false);
  assert.match(l1.message, /line 1 holds no config key/);

  let ev = await stopped(dc, 'breakpoint');
  assert.deepStrictEqual(ev.body.hitBreakpointIds, [l6.id]);
  const lf = await frames(dc);
  assert.match(lf[0].name, /^model\.layers\.0\.mlp /);
  // the innermost frame sits on the line the user clicked (the editor highlights it); its
  // parent layer stays at the key that defines it (num_hidden_layers, line 7)
  assert.strictEqual(lf[0].line, 6);
  assert.strictEqual(lf[1].line, 7);
  // evaluate errors name the column
  for (const [expr, re] of [['output +', /column 9: unexpected end/], ['nosuch.mean', /column 1: unknown name 'nosuch.mean'/],
    ['output[0, 99]', /index 99 out of range/], ['output.bogus', /unknown property 'bogus'/]]) {
    const r = await dc.raw('evaluate', { expression: expr, context: 'repl' });
    assert.strictEqual(r.success, false, expr);
    assert.match(r.message, re, expr);
  }
  const st = await dc.evaluateRequest({ expression: 'stats output', context: 'repl' });
  assert.match(st.body.result, /count=512 finite=512/);
  const t = await dc.evaluateRequest({ expression: 'output[0, :4] * 2', context: 'repl' });
  assert.match(t.body.result, /^f32\[4,64\] /);
  assert.ok(t.body.variablesReference > 0);

  await dc.continueRequest({ threadId: 1 });
  ev = await stopped(dc, 'function breakpoint');
  assert.deepStrictEqual(ev.body.hitBreakpointIds, [fbp.body.breakpoints[0].id]);
  assert.match((await frames(dc))[0].name, /^model\.layers\.1\.self_attn \(LlamaAttention, exit\)/);
  // next: the next module at the same depth
  await dc.nextRequest({ threadId: 1 });
  await stopped(dc, 'step');
  const afterNext = (await frames(dc))[0].name;
  assert.match(afterNext, /^model\.layers\.1\.post_attention_layernorm .*enter\)/);
  // stepIn: the very next event (a leaf: its own exit)
  await dc.stepInRequest({ threadId: 1 });
  await stopped(dc, 'step');
  assert.match((await frames(dc))[0].name, /^model\.layers\.1\.post_attention_layernorm .*exit\)/);
  // stepOut: the end of the parent
  await dc.stepOutRequest({ threadId: 1 });
  await stopped(dc, 'step');
  assert.match((await frames(dc))[0].name, /^model\.layers\.1 \(LlamaDecoderLayer, exit\)/);
  await endRun(dc);
});

test('stopOnEntry, native frames, restart, breakpoints changed during the run, terminate while paused', async () => {
  const { dc } = await session({ stopOnEntry: true, showNativeFrames: true }, async (dc) => { await dc.configurationDoneRequest(); });
  await stopped(dc, 'entry');
  const fr = await frames(dc);
  assert.match(fr[0].name, /^\(root\) \(LlamaForCausalLM, enter\)/);
  // native frames of the engine thread follow, subtle, and include the forward pass
  assert.ok(fr.length > 2, JSON.stringify(fr));
  assert.ok(fr.slice(1).every((f) => f.presentationHint === 'subtle'));
  assert.ok(fr.slice(1).some((f) => /ls_fwd_run|runner/.test(f.name)), fr.map((f) => f.name).join());
  // restart: a new pass, stopping at entry again
  await dc.customRequest('restart', {});
  await stopped(dc, 'entry');
  assert.match((await frames(dc))[0].name, /^\(root\) \(LlamaForCausalLM, enter\)/);
  // breakpoints set while stopped apply to the rest of the pass
  const bp = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'model.norm', hitCondition: '>= 1' }] });
  assert.strictEqual(bp.body.breakpoints[0].message, 'matches 1 module');
  await dc.continueRequest({ threadId: 1 });
  await stopped(dc, 'function breakpoint');
  assert.match((await frames(dc))[0].name, /^model\.norm /);
  const terminated = dc.waitForEvent('terminated', 20000);
  await dc.terminateRequest({});
  await terminated;
  const r = await dc.raw('stackTrace', { threadId: 1 });
  assert.strictEqual(r.success, false);
  await dc.disconnectRequest({});
  await finish(dc);
});
