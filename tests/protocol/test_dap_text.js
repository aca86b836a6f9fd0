// test_dap_text.js: non-ASCII text in DAP requests never costs a reply. An expression or a
// breakpoint condition holding é (2 bytes), ≠ (3 bytes) or an emoji (4 bytes) is answered
// with an error naming the column and quoting the whole character; setBreakpoints and
// setFunctionBreakpoints answer exactly one entry per requested breakpoint, in order, each
// on its requested line; an unknown command whose name is long and non-ASCII, and a launch
// whose error message must be cut inside a long non-ASCII path, are still answered (the
// messages stay valid UTF-8, so the adapter can always build the reply). Every adapter
// message is schema-checked and every request must be answered (lib/harness.js).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const h = require('./lib/harness');
const ds = require('./lib/dap_session');

const { dir, config: CONFIG } = ds.scratch('ls-dap-text-');
const CHARS = ['é', '≠', '😀'];

test('conditions with é, ≠ and an emoji: one verification per breakpoint, whole characters quoted', async () => {
  const verdicts = [];
  const { dc } = await ds.open(CONFIG, {}, async (dc) => {
    for (const ch of CHARS) {
      const src = await dc.setBreakpointsRequest({ source: { path: CONFIG }, breakpoints: [
        { line: ds.LINES.intermediate_size, condition: `output.mean ${ch} 0` },
        { line: ds.LINES.num_attention_heads },
        { line: ds.LINES.intermediate_size, condition: ch },
        { line: 99, condition: `layer ${ch}${ch} 1` }] });
      const fn = await dc.setFunctionBreakpointsRequest({ breakpoints: [
        { name: 'model.layers.*.mlp', condition: `${ch} > 0` }, { name: `model.${ch}*` }, { name: 'model.norm' }] });
      verdicts.push({ ch, src: src.body.breakpoints, fn: fn.body.breakpoints });
    }
    await dc.configurationDoneRequest();
  });
  for (const { ch, src, fn } of verdicts) {
    assert.strictEqual(src.length, 4, `${ch}: one entry per source breakpoint: ${JSON.stringify(src)}`);
    assert.deepStrictEqual(src.map((b) => b.line), [ds.LINES.intermediate_size, ds.LINES.num_attention_heads,
      ds.LINES.intermediate_size, 99]);
    assert.deepStrictEqual(src.map((b) => b.verified), [false, true, false, false]);
    assert.strictEqual(src[0].message, `condition: column 13: unexpected '${ch}' after the end of the expression`);
    assert.match(src[1].message, /'num_attention_heads' configures 2 modules/);
    assert.strictEqual(src[2].message, `condition: column 1: unexpected '${ch}'`);
    assert.strictEqual(src[3].message, `condition: column 7: unexpected '${ch}' after the end of the expression`);
    assert.strictEqual(fn.length, 3, `${ch}: one entry per function breakpoint: ${JSON.stringify(fn)}`);
    assert.deepStrictEqual(fn.map((b) => b.verified), [false, false, true]);
    assert.strictEqual(fn[0].message, `condition: column 1: unexpected '${ch}'`);
    assert.match(fn[1].message, new RegExp(`^no module matches 'model\\.${ch}\\*'`, 'u'));
  }
  // the last set holds: line 8 stops at the first attention
  await ds.stopped(dc, 'breakpoint');
  assert.match((await ds.frames(dc))[0].name, /^model\.layers\.0\.self_attn /);
  await ds.close(dc);
});

test('evaluate with é, ≠ and an emoji: an error response quoting the whole character', async () => {
  const { dc } = await ds.open(CONFIG, {}, async (dc) => {
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'model.layers.0.mlp' }] });
    await dc.configurationDoneRequest();
  });
  await ds.stopped(dc, 'function breakpoint');
  for (const ch of CHARS) {
    for (const [expr, msg] of [[ch, `column 1: unexpected '${ch}'`],
      [`output ${ch} 1`, `column 8: unexpected '${ch}' after the end of the expression`],
      [`output.mean + ${ch}`, `column 15: unexpected '${ch}'`],
      [`topk(output, ${ch})`, `column 14: unexpected '${ch}'`]]) {
      const r = await ds.answered(dc, 'evaluate', { expression: expr, context: 'repl' });
      assert.strictEqual(r.success, false, expr);
      assert.strictEqual(r.message, msg, expr);
    }
  }
  // the same session keeps serving
  const ok = await dc.evaluateRequest({ expression: 'output.nan', context: 'repl' });
  assert.strictEqual(ok.body.result, '0');
  await ds.close(dc);
});

test('a long non-ASCII command name and a launch error cut inside a non-ASCII path are answered', async () => {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  await dc.initializeRequest(ds.INIT_ARGS);
  for (const ch of CHARS) {
    const name = 'frobnicate' + ch.repeat(60);
    const r = await ds.answered(dc, name, {});
    assert.strictEqual(r.success, false);
    assert.strictEqual(r.command, name);
    assert.match(r.message, new RegExp(`^unknown command 'frobnicate(${ch})+'$`, 'u'));
    // the path makes the message longer than a message buffer holds
    const missing = `${dir}/${ch.repeat(300)}/config.json`;
    const l = await ds.answered(dc, 'launch', { config: missing });
    assert.strictEqual(l.success, false);
    assert.match(l.message, new RegExp(`^launch: config file '${dir.replace(/[.]/g, '\\.')}/(${ch})+`, 'u'));
  }
  const ok = await dc.raw('launch', { config: CONFIG });
  assert.strictEqual(ok.success, true, ok.message);
  await ds.close(dc);
});
