// test_dap_batch.js: a batched launch ("tokens" as an array of arrays, "attentionMask" the
// same way) on the tiny random llama of lib/dap_session.js: two rows of 5 and 3 tokens, the
// second right-padded. At a breakpoint on an attention module the tensors carry the batch
// dimension (output f32[2,5,64], probs f32[2,4,5,5], input_ids i64[2,5] at the root); a padded
// key gets probability 0 from every query of its row; the run ends with one next-tokens
// result per row. Then the refusals: a mask row of another length, an empty row, a flat mask
// with a batch, and generation on a batch.
'use strict';
const test = require('node:test');
const assert = require('node:assert');

const ds = require('./lib/dap_session');
const h = require('./lib/harness');

const { config: CONFIG } = ds.scratch('ls-dap-batch-');
const { stopped, frames, endRun } = ds;
const ROWS = [[3, 17, 42, 99, 5], [64, 7, 120]];

test('batched launch: [B, S, ...] tensors, padded keys never attended, one result per row', async () => {
  const { dc } = await ds.open(CONFIG, { tokens: ROWS, attentionMask: [[1, 1, 1, 1, 1], [1, 1, 1]] }, async (dc) => {
    const bp = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'model.layers.0.self_attn' }] });
    assert.strictEqual(bp.body.breakpoints[0].verified, true);
    await dc.configurationDoneRequest();
  });
  await stopped(dc, 'function breakpoint');
  const fr = await frames(dc);
  assert.match(fr[0].name, /^model\.layers\.0\.self_attn /);
  const scopes = (await dc.scopesRequest({ frameId: fr[0].id })).body.scopes;
  const outs = (await dc.variablesRequest({ variablesReference: scopes[1].variablesReference })).body.variables;
  assert.match(outs.find((v) => v.name === 'output').value, /^f32\[2,5,64\] /);
  const inter = (await dc.variablesRequest({ variablesReference: scopes[3].variablesReference })).body.variables;
  assert.match(inter.find((v) => v.name === 'probs').value, /^f32\[2,4,5,5\] /);
  // row 1 has 3 tokens: its padded keys 3 and 4 get nothing, even from the padded queries
  for (const [q, k] of [[4, 3], [4, 4], [3, 4]]) {
    const p = (await dc.evaluateRequest({ expression: `probs[1, 2, ${q}, ${k}]`, context: 'repl' })).body.result;
    assert.strictEqual(Number(p), 0, `probs[1, 2, ${q}, ${k}] = ${p}`);
  }
  // and its valid queries attend causally to its valid keys, summing to 1
  let sum = 0;
  for (let k = 0; k < 3; k++) sum += Number((await dc.evaluateRequest({ expression: `probs[1, 0, 2, ${k}]`, context: 'repl' })).body.result);
  assert.ok(Math.abs(sum - 1) < 1e-5, `row 1, query 2 sums to ${sum}`);
  const output = dc.waitForEvent('output', 20000);
  await endRun(dc);
  const all = [(await output).body.output, ...dc.outputs].join('');
  assert.match(all, /row 0: top-5 next tokens:(?: \d+ \(-?\d+\.\d{3}\)){5}; row 1: top-5 next tokens:(?: \d+ \(-?\d+\.\d{3}\)){5}/);
});

test('batched launch refusals name the argument', async () => {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  await dc.initializeRequest(ds.INIT_ARGS);
  for (const [args, re] of [
    [{ tokens: ROWS, attentionMask: [[1, 1, 1, 1, 1], [1, 1]] }, /^launch: argument 'attentionMask\[1\]' must be an array of 3 values like 'tokens\[1\]', got another length$/],
    [{ tokens: [[1, 2], []] }, /^launch: argument 'tokens\[1\]' must be a non-empty array of token ids, got an empty array$/],
    [{ tokens: ROWS, attentionMask: [1, 1, 1, 1, 1] }, /^launch: argument 'attentionMask' must be an array of 2 rows like 'tokens', got another number of rows$/],
    [{ tokens: ROWS, attentionMask: [1, 1] }, /^launch: argument 'attentionMask\[0\]' must be an array of 5 values like 'tokens\[0\]', got an integer$/],
    [{ tokens: [[1, 2], [3, 128]] }, /^launch: tokens: row 1: token 128 at position 1 is outside the vocabulary \(vocab_size 128\)$/],
    [{ tokens: ROWS, generate: 2 }, /^launch: .*generation runs one row; these tokens are a batch of 2 rows$/],
  ]) {
    const r = await dc.raw('launch', { config: CONFIG, ...args });
    assert.strictEqual(r.success, false, JSON.stringify(args));
    assert.match(r.message, re);
    assert.strictEqual(r.body.error.id, 1002);
  }
  await ds.close(dc);
});
