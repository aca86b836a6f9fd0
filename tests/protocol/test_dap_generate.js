// test_dap_generate.js: debugging generation (launch "generate": N) on the tiny random llama
// of lib/dap_session.js (8 prompt tokens, 2 kv heads of 16): a function breakpoint with the
// condition `token >= 1` first stops in the pass of the second token (the prefill is token
// 0), where `token` evaluates to 1, the bottom frame is the token level ("token 2 of 3
// (position 9)") and the attention's KV cache scope holds the layer's cache after this pass
// (layer 1, 9 tokens: 8 prompt positions and 1 generated; keys and values [9, 2, 16], one
// child per token of [2, 16], their statistics those of the expression language's
// cache_keys / cache_values), no longer listed among Intermediates; stepping out of the root's exit
// steps to the next token's first event; the run ends with the generated ids.
'use strict';
const test = require('node:test');
const assert = require('node:assert');

const ds = require('./lib/dap_session');

const { config: CONFIG } = ds.scratch('ls-dap-generate-');
const { stopped, frames, endRun } = ds;

test('generation: token conditions, the token frame, the KV cache, stepping to the next token', async () => {
  const { dc } = await ds.open(CONFIG, { generate: 3 }, async (dc) => {
    const bp = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'model.layers.1.self_attn', condition: 'token >= 1' }] });
    assert.strictEqual(bp.body.breakpoints[0].verified, true);
    await dc.configurationDoneRequest();
  });
  await stopped(dc, 'function breakpoint');
  const tok = (await dc.evaluateRequest({ expression: 'token', context: 'watch' })).body.result;
  assert.strictEqual(tok, '1');
  let fr = await frames(dc);
  assert.deepStrictEqual(fr.map((f) => f.name.split(' (')[0]),
    ['model.layers.1.self_attn', 'model.layers.1', 'model.layers', 'model', '(root)', 'token 2 of 3']);
  assert.strictEqual(fr[5].name, 'token 2 of 3 (position 9)');
  assert.strictEqual(fr[5].presentationHint, 'label');
  const scopes = (await dc.scopesRequest({ frameId: fr[0].id })).body.scopes;
  assert.deepStrictEqual(scopes.map((x) => x.name), ['Inputs', 'Outputs', 'Parameters', 'Intermediates', 'KV cache']);
  const vars = async (ref, extra = {}) => (await dc.variablesRequest({ variablesReference: ref, ...extra })).body.variables;
  const inter = await vars(scopes[3].variablesReference);
  assert.deepStrictEqual(inter.map((v) => v.name), ['layer', 'probs']);
  assert.strictEqual(scopes[3].namedVariables, 2);
  assert.match(inter[1].value, /^f32\[1,4,1,9\] /);
  const kv = await vars(scopes[4].variablesReference);
  assert.deepStrictEqual(kv.map((v) => [v.name, v.value.split(' ')[0]]),
    [['layer', '1'], ['tokens', '9'], ['keys', 'f32[9,2,16]'], ['values', 'f32[9,2,16]']]);
  assert.strictEqual(scopes[4].namedVariables, kv.length);
  for (const v of kv.slice(2)) {
    assert.strictEqual(v.indexedVariables, 9);
    // the same bytes as the expression language's cache_keys / cache_values
    const mean = Number((await dc.evaluateRequest({ expression: `cache_${v.name}.mean`, context: 'watch', frameId: fr[0].id })).body.result);
    const stats = await vars((await vars(v.variablesReference, { filter: 'named' }))[0].variablesReference);
    const got = Number(stats.find((x) => x.name === 'mean').value);
    assert.ok(Math.abs(got - mean) <= 1e-5 * Math.max(1, Math.abs(mean)), `${v.name}: mean ${got} vs cache_${v.name}.mean ${mean}`);
    assert.strictEqual(Number(stats.find((x) => x.name === 'count').value), 9 * 32);
    const last = await vars(v.variablesReference, { filter: 'indexed', start: 8, count: 1 });
    assert.deepStrictEqual(last.map((x) => x.name), ['[8]']);
    assert.match(last[0].value, /^f32\[2,16\] /);
  }
  // step out to the root's exit, then one more step: the next token's first event
  for (let i = 0; i < 4; i++) {
    await dc.stepOutRequest({ threadId: 1 });
    await stopped(dc, 'step');
  }
  fr = await frames(dc);
  assert.match(fr[0].name, /^\(root\) .*exit/);
  await dc.nextRequest({ threadId: 1 });
  await stopped(dc, 'step');
  fr = await frames(dc);
  assert.match(fr[0].name, /^\(root\) .*enter/);
  assert.strictEqual(fr[fr.length - 1].name, 'token 3 of 3 (position 10)');
  assert.strictEqual((await dc.evaluateRequest({ expression: 'token', context: 'watch' })).body.result, '2');
  // the breakpoint still holds in the last token's pass, then the run ends with the ids
  await dc.continueRequest({ threadId: 1 });
  await stopped(dc, 'function breakpoint');
  await endRun(dc);
  assert.ok(dc.outputs.some((o) => /generated ids: \d+,\d+,\d+/.test(o)), dc.outputs.join(''));
  assert.strictEqual(dc.outputs.filter((o) => /token \d of 3: id \d+ at position \d+/.test(o)).length, 3, dc.outputs.join(''));
});
