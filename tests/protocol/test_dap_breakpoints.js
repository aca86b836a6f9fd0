// test_dap_breakpoints.js: source breakpoints are kept per source, as a client that sends
// one setBreakpoints per file (VS Code) expects: a request for another file (a Python
// script, a second JSON) gets its own unverified entries, one per breakpoint, and leaves the
// launched config.json's line breakpoints alone, so the run still stops there; clearing the
// other file changes nothing either; clearing config.json's own set lets the run finish.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const ds = require('./lib/dap_session');

const { dir, config: CONFIG } = ds.scratch('ls-dap-bps-');
const OTHER = path.join(dir, 'train.py');
fs.writeFileSync(OTHER, 'import torch\n\nmodel = load()\nmodel(x)\n');

test('another file\'s setBreakpoints leaves config.json\'s line breakpoints alone', async () => {
  const { dc, res } = await ds.open(CONFIG, {}, async (dc) => {
    const cfg = await dc.setBreakpointsRequest({ source: { path: CONFIG }, breakpoints: [{ line: ds.LINES.intermediate_size }] });
    const other = await dc.setBreakpointsRequest({ source: { path: OTHER, name: 'train.py' },
      breakpoints: [{ line: 3 }, { line: 4, condition: 'x > 1' }] });
    const json = await dc.setBreakpointsRequest({ source: { path: path.join(dir, 'tokenizer.json') }, breakpoints: [{ line: 2 }] });
    await dc.configurationDoneRequest();
    return { cfg: cfg.body.breakpoints, other: other.body.breakpoints, json: json.body.breakpoints };
  });
  assert.strictEqual(res.cfg.length, 1);
  assert.strictEqual(res.cfg[0].verified, true);
  assert.strictEqual(res.other.length, 2);
  assert.deepStrictEqual(res.other.map((b) => [b.verified, b.line, b.source.path]), [[false, 3, OTHER], [false, 4, OTHER]]);
  for (const b of [...res.other, ...res.json]) assert.match(b.message, /^not the launched config \(.*config\.json\)$/);
  // the config's breakpoint still stops, at the first MLP
  let ev = await ds.stopped(dc, 'breakpoint');
  assert.deepStrictEqual(ev.body.hitBreakpointIds, [res.cfg[0].id]);
  assert.match((await ds.frames(dc))[0].name, /^model\.layers\.0\.mlp /);
  // clearing the other file (as VS Code does when its last breakpoint goes) changes nothing
  const cleared = await dc.setBreakpointsRequest({ source: { path: OTHER }, breakpoints: [] });
  assert.deepStrictEqual(cleared.body.breakpoints, []);
  await dc.continueRequest({ threadId: 1 });
  ev = await ds.stopped(dc, 'breakpoint');
  assert.match((await ds.frames(dc))[0].name, /^model\.layers\.1\.mlp /);
  // clearing config.json's own set does: the pass runs to the end
  await dc.setBreakpointsRequest({ source: { path: CONFIG }, breakpoints: [] });
  await ds.endRun(dc);
});
