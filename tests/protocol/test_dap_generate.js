// test_dap_generate.js: debugging generation (launch "generate": N) on the tiny random llama
// of lib/dap_session.js (8 prompt tokens, 2 kv heads of 16): a function breakpoint with the
// condition `token >= 1` first stops in the pass of the second token (the prefill is token
// 0), where `token` evaluates to 1, the bottom frame is the token level ("token 2 of 3
// (position 9)") and the attention's Intermediates hold the layer's KV cache after this
// pass ([1, 9, 32]: 8 prompt positions and 1 generated); stepping out of the root's exit
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
  const inter = (await dc.variablesRequest({ variablesReference: scopes[3].variablesReference })).body.variables;
  const keys = inter.find((v) => v.name === 'cache_keys');
  const values = inter.find((v) => v.name === 'cache_values');
  assert.ok(keys && values, JSON.stringify(inter.map((v) => v.name)));
  assert.match(keys.value, /^f32\[1,9,32\] /);
  assert.match(inter.find((v) => v.name === 'probs').value, /^f32\[1,4,1,9\] /);
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
