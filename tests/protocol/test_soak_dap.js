// test_soak_dap.js: many debug sessions without growth. (1) 1,000 adapter processes in a
// loop (100 under ASan), each a full session on a tiny random llama (2 layers, hidden 32):
// initialize, launch, configurationDone, run to `terminated`, disconnect, exit status 0 and
// every message valid against the DAP schema. DAP is one session per adapter process, so
// growth inside one process is measured by (2): one adapter driven through 1,000 `restart`
// requests (100 under ASan) that each tear the forward pass down and bind the weights
// again; its RSS (VmRSS) after the 1,000th must stay within 10% + 2 MiB of its level after
// the 50th (lib/soak.js). Under ASan the quarantine holds freed memory on purpose, so only
// correctness is checked there: every restart stops again at the breakpoint, the frame is
// the right module, and the last pass still reaches `terminated`.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const os = require('os');
const h = require('./lib/harness');
const S = require('./lib/soak');

// scripts/valgrind-protocol.sh sets LS_VALGRIND=1: each process then starts under memcheck (~1 s)
const VG = process.env.LS_VALGRIND === '1';
const PROCS = VG ? 10 : h.SANITIZE ? 100 : 1000;
const RESTARTS = VG ? 60 : h.SANITIZE ? 100 : 1000;
const REF_AT = 50;
const INIT_ARGS = { adapterID: 'layerscope', clientID: 'soak', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' };
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-soak-dap-'));
const CONFIG = path.join(DIR, 'config.json');
fs.writeFileSync(CONFIG, JSON.stringify({
  model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 64, hidden_size: 32, intermediate_size: 48,
  num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32,
  tie_word_embeddings: false,
}, null, 2));
test.after(() => fs.rmSync(DIR, { recursive: true, force: true }));

async function begin(fnBps = []) {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  dc.stops = [];
  dc.stopWaiters = [];
  dc.on('stopped', (e) => { const w = dc.stopWaiters.shift(); if (w) w(e); else dc.stops.push(e); });
  const initialized = dc.waitForEvent('initialized', 10000);
  await dc.initializeRequest(INIT_ARGS);
  await dc.launchRequest({ config: CONFIG, tokens: [1, 2, 3, 4], seed: 7, threads: 1 });
  await initialized;
  if (fnBps.length) await dc.setFunctionBreakpointsRequest({ breakpoints: fnBps.map((name) => ({ name })) });
  // without breakpoints the pass can end before configurationDone's response arrives
  if (!fnBps.length) dc.terminated = dc.waitForEvent('terminated', 20000);
  await dc.configurationDoneRequest();
  return dc;
}

function stopped(dc) {
  if (dc.stops.length) return Promise.resolve(dc.stops.shift());
  return h.withTimeout(new Promise((res) => dc.stopWaiters.push(res)), 20000, 'stopped event');
}

async function end(dc, needContinue) {
  const terminated = dc.terminated || dc.waitForEvent('terminated', 20000);
  if (needContinue) await dc.continueRequest({ threadId: 1 });
  await terminated;
  await dc.disconnectRequest({});
  const ex = await h.withTimeout(dc.proc.exitP, 20000, 'adapter exit');
  assert.deepStrictEqual(ex, { code: 0, signal: null }, dc.proc.stderrText.slice(-2000));
  assert.deepStrictEqual(dc.checker.errors, []);
  assert.deepStrictEqual(dc.checker.unanswered(), []);
}

test(`${PROCS} adapter processes, one whole session each`, async () => {
  const t0 = Date.now();
  for (let i = 0; i < PROCS; i++) {
    const dc = await begin();
    await end(dc, false);
  }
  console.log(`# ${PROCS} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test(`${RESTARTS} restarts in one adapter process, RSS flat`, async () => {
  const t0 = Date.now();
  const dc = await begin(['model.layers.1.mlp']);
  let refRss = 0;
  for (let r = 0; r <= RESTARTS; r++) {
    const ev = await stopped(dc);
    assert.strictEqual(ev.body.reason, 'function breakpoint', JSON.stringify(ev.body));
    if (r % 100 === 0) {
      const st = await dc.stackTraceRequest({ threadId: 1 });
      assert.strictEqual(st.body.stackFrames[0].name.split(' ')[0], 'model.layers.1.mlp');
    }
    if (r === REF_AT) refRss = S.rssKiB(dc.proc.pid);
    if (r === RESTARTS) break;
    await dc.restartRequest({});
  }
  const endRss = S.rssKiB(dc.proc.pid);
  await end(dc, true);
  console.log(`# ${RESTARTS} restarts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (h.SANITIZE) console.log(`# ASan build: RSS rule skipped (quarantine); RSS ${refRss} -> ${endRss} KiB`);
  else S.assertNoGrowth(refRss, endRss, `dap after ${REF_AT} vs ${RESTARTS} restarts`);
});
