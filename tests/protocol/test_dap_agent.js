// test_dap_agent.js: the user's own PyTorch program as the debug target, through the real
// adapter and @vscode/debugadapter-testsupport's DebugClient (every message checked against
// the DAP schema by the harness). The programs are written for the tests
// (tests/fixtures/programs): a GPT-2-style model trained with AdamW (gpt_train.py), a
// non-transformer model with a custom layer and a custom autograd Function whose weight
// gradient overflows at a known step (custom_nan.py), two gloo ranks under mp.spawn
// (ranks.py). Checked: launch, function breakpoints in the forward and backward pass with
// conditions on `step` and `rank`, the NaN stop at exactly the planted module and step with
// its description, Python frames at the right file and line, scopes and variables (tensors
// shown by the statistics line the program computed, fetched when opened, paged), evaluate,
// stepping, two ranks as two threads stopped together, terminate and disconnect leaving no
// process behind; bad input (no such program, a Python without torch, a program that exits
// before running a module, a program killed while stopped) gets a clear message and the
// adapter keeps answering. Python is Debian's /usr/bin/python3 (torch 1.13).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const h = require('./lib/harness');
const { customErrors } = require('./lib/dap_custom');

h.watchdog(900); // seven real training programs, each started in a fresh Python

const PROGS = path.join(__dirname, '..', 'fixtures', 'programs');
const PY = '/usr/bin/python3';
// Under ASan the agent's library (built with the sanitizers) is loaded into Python, whose
// runtime must then come first.
const ENV = h.SANITIZE ? { LD_PRELOAD: require('child_process').execFileSync('gcc', ['-print-file-name=libasan.so']).toString().trim(),
  ASAN_OPTIONS: 'detect_leaks=0', LSAN_OPTIONS: 'detect_leaks=0' } : {};
const INIT = { adapterID: 'layerscope', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path',
  supportsProgressReporting: true };

// The 1-based line of the `# LINE: what` marker in a program.
function line(prog, what) {
  const lines = fs.readFileSync(path.join(PROGS, prog), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`# LINE: ${what}`));
  assert.ok(i >= 0, `no marker '${what}' in ${prog}`);
  return i + 1;
}

// Starts a session on a program; setup(dc) sets breakpoints; configurationDone follows.
async function open(prog, launch, setup = async () => {}) {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  dc.stops = [];
  dc.waiters = [];
  dc.outputs = [];
  dc.on('stopped', (e) => { const w = dc.waiters.shift(); if (w) w(e); else dc.stops.push(e); });
  dc.on('output', (e) => dc.outputs.push(e.body));
  await dc.initializeRequest(INIT);
  const initialized = dc.waitForEvent('initialized', 60000);
  await h.withTimeout(dc.launchRequest({ program: path.join(PROGS, prog), python: PY, env: ENV, ...launch }), 60000, 'launch');
  await initialized;
  const res = await setup(dc);
  await dc.configurationDoneRequest();
  return { dc, res };
}

async function stopped(dc, reason, ms = 120000) {
  const ev = dc.stops.length ? dc.stops.shift()
    : await h.withTimeout(new Promise((res) => dc.waiters.push(res)), ms, `stopped event (${reason})`);
  if (reason) assert.strictEqual(ev.body.reason, reason, JSON.stringify(ev.body));
  return ev;
}

async function frames(dc, threadId) {
  return (await dc.stackTraceRequest({ threadId })).body.stackFrames;
}

async function scopes(dc, frameId) {
  const out = {};
  for (const s of (await dc.scopesRequest({ frameId })).body.scopes) {
    out[s.name] = (await dc.variablesRequest({ variablesReference: s.variablesReference })).body.variables;
  }
  return out;
}

function pidOf(name) { return Number(/pid (\d+)/.exec(name)[1]); }
function alive(pid) { try { process.kill(pid, 0); return true; } catch { return false; } }

async function finish(dc) {
  const ex = await h.withTimeout(dc.proc.exitP, 30000, 'adapter exit');
  assert.strictEqual(ex.code, 0, dc.proc.stderrText.slice(-2000));
  assert.deepStrictEqual(customErrors(dc.checker), []);
  assert.deepStrictEqual(dc.checker.unanswered(), []);
  assert.ok(dc.checker.received.every((m) => m.type !== 'event' || m.event !== 'layerscopeModules' || m.body.modules.length > 0));
}

test('GPT-2-style training: forward breakpoint with a step condition, frames, variables, evaluate, stepping', async () => {
  const { dc, res } = await open('gpt_train.py', {}, async (dc) =>
    (await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'transformer.h.1.mlp', condition: 'step == 1' }] })).body);
  assert.strictEqual(res.breakpoints.length, 1);
  const changed = dc.waitForEvent('breakpoint', 60000);
  const ev = await stopped(dc, 'function breakpoint');
  assert.deepStrictEqual(ev.body.hitBreakpointIds, [res.breakpoints[0].id]);
  assert.strictEqual((await changed).body.breakpoint.verified, true); // pending until the program ran its modules
  // the first step ran through: its loss line came before the stop
  assert.ok(dc.outputs.some((o) => o.category === 'stdout' && /step 0 loss/.test(o.output)), JSON.stringify(dc.outputs));
  const th = (await dc.threadsRequest()).body.threads;
  assert.strictEqual(th.length, 1);
  assert.match(th[0].name, /^pid \d+$/);
  const fr = await frames(dc, ev.body.threadId);
  assert.match(fr[0].name, /^transformer\.h\.1\.mlp \(MLP, exit\)$/);
  assert.deepStrictEqual(fr.slice(1, 4).map((f) => f.name), ['transformer.h.1 (Block)', 'transformer.h (ModuleList)', 'transformer (ModuleDict)']);
  // the user's source: the block's mlp call, then the training loop's model call
  const src = fr.filter((f) => f.source && f.source.path === path.join(PROGS, 'gpt_train.py'));
  assert.deepStrictEqual(src.map((f) => [f.name, f.line]), [['forward', line('gpt_train.py', 'mlp call')],
    ['forward', src[1].line], ['main', line('gpt_train.py', 'model call')], ['<module>', src[3].line]]);
  const sc = await scopes(dc, fr[0].id);
  assert.deepStrictEqual(Object.keys(sc).filter((k) => sc[k].length), ['Inputs', 'Outputs', 'Intermediates', 'Step']);
  assert.deepStrictEqual(sc.Intermediates.map((v) => [v.name, v.value]), [['layer', '1']]);
  assert.deepStrictEqual(sc.Step.map((v) => [v.name, v.value]), [['step', '1'], ['pass', 'forward'], ['thread', th[0].name]]);
  assert.match(sc.Outputs[0].value, /^f32\[4,8,32\] μ=\S+ σ=\S+ \[\S+, \S+\] nan=0 inf=0 zeros=/);
  // opened, the tensor's bytes come from the program: statistics children and paged slices
  const out = sc.Outputs[0];
  const named = (await dc.variablesRequest({ variablesReference: out.variablesReference, filter: 'named' })).body.variables;
  assert.deepStrictEqual(named.map((v) => v.name), ['stats', 'histogram']);
  assert.match(named[0].value, /^count=1024 mean=/);
  const page = (await dc.variablesRequest({ variablesReference: out.variablesReference, filter: 'indexed', start: 1, count: 2 })).body.variables;
  assert.deepStrictEqual(page.map((v) => v.name), ['[1]', '[2]']);
  assert.match(page[0].value, /^f32\[8,32\] /);
  // evaluate runs the expression language on the program's tensors
  const e1 = await dc.evaluateRequest({ expression: 'output.count', context: 'repl', frameId: fr[0].id });
  assert.strictEqual(e1.body.result, '1024');
  const e2 = await dc.evaluateRequest({ expression: 'topk output[0, -1] 3', context: 'repl', frameId: fr[0].id });
  assert.match(e2.body.result, /at \[\d+\]/);
  // a parameter opened from the Parameters scope of the c_fc module
  await dc.continueRequest({ threadId: ev.body.threadId });
  await h.withTimeout(dc.waitForEvent('terminated', 120000), 120000, 'terminated');
  assert.ok(dc.outputs.some((o) => /program done: the program exited with status 0/.test(o.output)), JSON.stringify(dc.outputs));
  await dc.disconnectRequest({});
  await finish(dc);
});

test('stepping: into a submodule, over to the next one, out to the parent', async () => {
  const { dc } = await open('gpt_train.py', { stopOnEntry: false, env: { ...ENV, STEPS: '1' } }, async (dc) =>
    dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'transformer.h.0.ln_2' }] }));
  let ev = await stopped(dc, 'function breakpoint');
  const t = ev.body.threadId;
  await dc.nextRequest({ threadId: t });
  ev = await stopped(dc, 'step');
  assert.match((await frames(dc, t))[0].name, /^transformer\.h\.0\.mlp \(MLP, enter\)$/);
  await dc.stepInRequest({ threadId: t });
  ev = await stopped(dc, 'step');
  assert.match((await frames(dc, t))[0].name, /^transformer\.h\.0\.mlp\.c_fc \(Linear, enter\)$/);
  await dc.stepOutRequest({ threadId: t });
  ev = await stopped(dc, 'step');
  assert.match((await frames(dc, t))[0].name, /^transformer\.h\.0\.mlp \(MLP, exit\)$/);
  await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
  await dc.continueRequest({ threadId: t });
  await h.withTimeout(dc.waitForEvent('terminated', 120000), 120000, 'terminated');
  await dc.disconnectRequest({});
  await finish(dc);
});

test('the first NaN gradient: the planted module and step, with the line of loss.backward()', async () => {
  const { dc } = await open('custom_nan.py', {}, async (dc) => dc.setExceptionBreakpointsRequest({ filters: ['nan', 'inf'] }));
  const ev = await stopped(dc, 'exception');
  assert.match(ev.body.description, /^NaN in gradient of planted\.w \(backward, step 2\): \d+ of 16 values, first at \[\d+\]$/);
  assert.strictEqual(ev.body.text, ev.body.description);
  const fr = await frames(dc, ev.body.threadId);
  assert.match(fr[0].name, /^planted \(Planted, backward\)$/);
  const src = fr.filter((f) => f.source && f.source.path === path.join(PROGS, 'custom_nan.py'));
  assert.strictEqual(src[0].line, line('custom_nan.py', 'backward'));
  const sc = await scopes(dc, fr[0].id);
  assert.deepStrictEqual(sc.Step.slice(0, 2).map((v) => v.value), ['2', 'backward']);
  const g = sc.Gradients.find((v) => v.name === 'w.grad');
  assert.match(g.value, /^f32\[16\] .*nan=[1-9]/);
  const e = await dc.evaluateRequest({ expression: 'w.grad.nan + w.grad.inf', context: 'repl', frameId: fr[0].id });
  assert.strictEqual(e.body.result, '16');
  // steps 0 and 1 ran and printed finite losses before the stop
  const lines = dc.outputs.filter((o) => o.category === 'stdout').map((o) => o.output).join('');
  assert.match(lines, /step 0 loss [0-9.]+\s+step 1 loss [0-9.]+/);
  assert.doesNotMatch(lines, /step 2/);
  // terminate ends the program: terminated, and its process is gone
  const pid = pidOf((await dc.threadsRequest()).body.threads[0].name);
  const terminated = dc.waitForEvent('terminated', 30000);
  await dc.terminateRequest({});
  await terminated;
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!alive(pid), `the program (pid ${pid}) is still running after terminate`);
  await dc.disconnectRequest({});
  await finish(dc);
});

test('a backward breakpoint with a hit count stops when the gradient of that module is ready', async () => {
  const { dc, res } = await open('custom_nan.py', { env: { ...ENV, NAN_STEP: '99' } }, async (dc) =>
    (await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'backward:fc2', hitCondition: '3' }] })).body);
  const ev = await stopped(dc, 'function breakpoint');
  // fc2's backward events: the gradient of its output, then of weight and bias, per step:
  // the third is in step 0
  assert.strictEqual((await scopes(dc, (await frames(dc, ev.body.threadId))[0].id)).Step[0].value, '0');
  assert.deepStrictEqual(ev.body.hitBreakpointIds, [res.breakpoints[0].id]);
  const fr = await frames(dc, ev.body.threadId);
  assert.match(fr[0].name, /^fc2 \(Linear, backward\)$/);
  assert.strictEqual(fr.find((f) => f.source && f.source.path.endsWith('custom_nan.py')).line, line('custom_nan.py', 'backward'));
  const sc = await scopes(dc, fr[0].id);
  assert.ok(sc.Gradients.length >= 1, JSON.stringify(sc));
  // disconnect while stopped: the launched program ends with the session
  const pid = pidOf((await dc.threadsRequest()).body.threads[0].name);
  await dc.disconnectRequest({});
  await finish(dc);
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!alive(pid), `the program (pid ${pid}) outlived the session`);
});

test('pause stops a running program at its next module; attach, then disconnect detaches', async () => {
  // pause: a long run, stopped from outside
  let { dc } = await open('gpt_train.py', { env: { ...ENV, STEPS: '100000' } });
  await new Promise((r) => setTimeout(r, 3000));
  await dc.pauseRequest({ threadId: 1 });
  const ev = await stopped(dc, 'pause');
  assert.match((await frames(dc, ev.body.threadId))[0].name, /, (enter|exit|backward)\)$/);
  const terminated = dc.waitForEvent('terminated', 30000);
  await dc.terminateRequest({});
  await terminated;
  await dc.disconnectRequest({});
  await finish(dc);

  // attach: the program listens itself (layerscope_agent.listen), the debugger connects
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'ls-attach-'));
  const sock = path.join(dir, 'agent.sock');
  const build = process.env.LS_BUILD_DIR || path.join(__dirname, '..', '..', 'build', 'release');
  const prog = require('child_process').spawn(PY, [path.join(PROGS, 'attach_target.py')], {
    env: { ...process.env, ...ENV, LS_SOCKET: sock, PYTHONPATH: path.join(__dirname, '..', '..', 'agent', 'python'),
      LAYERSCOPE_AGENT_LIB: path.join(build, 'agent', 'liblayerscope_agent.so'), PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  prog.stdout.on('data', (b) => { out += b; });
  prog.stderr.on('data', (b) => { out += b; });
  const exited = new Promise((res) => prog.on('exit', (code) => res(code)));
  for (let i = 0; i < 600 && !/listening on/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /listening on .*agent\.sock/);
  dc = new h.CheckedDebugClient();
  await dc.start();
  dc.stops = []; dc.waiters = []; dc.outputs = [];
  dc.on('stopped', (e) => { const w = dc.waiters.shift(); if (w) w(e); else dc.stops.push(e); });
  await dc.initializeRequest(INIT);
  const initialized = dc.waitForEvent('initialized', 30000);
  await dc.attachRequest({ connect: sock });
  await initialized;
  // the optimizer was made before listen(): its steps are still the steps, so `step == 1`
  // is the second training step (after "step 0" was printed), not the second forward call
  await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: '2', condition: 'step == 1' }] });
  await dc.configurationDoneRequest();
  const a = await stopped(dc, 'function breakpoint');
  assert.match((await frames(dc, a.body.threadId))[0].name, /^2 \(Linear, exit\)$/);
  for (let i = 0; i < 50 && !/step 0/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /step 0\s*$/, out);
  // disconnect detaches: the program runs on to its end, with every hook removed
  await dc.disconnectRequest({});
  await finish(dc);
  assert.strictEqual(await h.withTimeout(exited, 60000, 'the attached program\'s exit'), 0, out);
  assert.match(out, /step 2\s+hooks left 0\s+optimizer steps 3/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('two gloo ranks are two threads; a stop on one stops both', async () => {
  const { dc } = await open('ranks.py', { env: { ...ENV, PERTURB: '1' } }, async (dc) =>
    dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: '3', condition: 'rank == 1 && step == 1' }] }));
  const ev = await stopped(dc, 'function breakpoint');
  const th = (await dc.threadsRequest()).body.threads;
  assert.deepStrictEqual(th.map((t) => t.name.replace(/ \(pid \d+\)/, '')).sort(), ['rank 0', 'rank 1']);
  const r1 = th.find((t) => t.name.startsWith('rank 1'));
  assert.strictEqual(ev.body.threadId, r1.id);
  // the other rank stops too, at its next module boundary, and says all threads are stopped
  // then. Which boundary depends on where it was: usually inside its slow first layer (so
  // "0 (Slow, exit)"), but on a loaded machine it can be further on; any module event counts.
  const r0 = th.find((t) => t.name.startsWith('rank 0'));
  const ev0 = await stopped(dc, 'pause');
  assert.strictEqual(ev0.body.threadId, r0.id);
  assert.strictEqual(ev0.body.allThreadsStopped, true);
  const f0 = await frames(dc, r0.id);
  assert.match(f0[0].name, /^\S+ \(\w+, (enter|exit)\)$/);
  assert.ok(f0.some((f) => f.source && f.source.path.endsWith('ranks.py')), JSON.stringify(f0));
  // replicas compared across ranks: the first layer is the same, the last one drifted
  const fid = (await frames(dc, r1.id))[0].id;
  const same = await dc.evaluateRequest({ expression: 'diff rank0:1.weight rank1:1.weight', context: 'repl', frameId: fid });
  assert.match(same.body.result, /max_abs=0 .*mismatches=0 of 128 /);
  const drift = await dc.evaluateRequest({ expression: 'diff rank0:3.weight rank1:3.weight', context: 'repl', frameId: fid });
  assert.match(drift.body.result, /mismatches=32 of 32 /);
  const e = await dc.evaluateRequest({ expression: '(rank1:3.weight - rank0:3.weight).max', context: 'repl', frameId: fid });
  assert.ok(Math.abs(Number(e.body.result) - 1e-3) < 1e-5, e.body.result);
  // a rank that does not exist is an unknown name
  const bad = await dc.raw('evaluate', { expression: 'rank7:3.weight', context: 'repl', frameId: fid });
  assert.strictEqual(bad.success, false);
  assert.match(bad.message, /unknown name 'rank7:3\.weight'/);
  await dc.setFunctionBreakpointsRequest({ breakpoints: [] });
  await dc.continueRequest({ threadId: r1.id });
  await h.withTimeout(dc.waitForEvent('terminated', 120000), 120000, 'terminated');
  const text = dc.outputs.map((o) => o.output).join('');
  assert.match(text, /rank 0 step 2/);
  assert.match(text, /rank 1 step 2/);
  await dc.disconnectRequest({});
  await finish(dc);
});

test('bad input: a clear message each time, and the adapter keeps answering', async () => {
  const dc = new h.CheckedDebugClient();
  await dc.start();
  await dc.initializeRequest(INIT);
  let r = await dc.raw('launch', { program: path.join(PROGS, 'no_such.py'), python: PY });
  assert.strictEqual(r.success, false);
  assert.match(r.message, /program '.*no_such\.py' does not exist/);
  r = await dc.raw('launch', { program: path.join(PROGS, 'gpt_train.py'), python: '/bin/false' });
  assert.strictEqual(r.success, false);
  assert.match(r.message, /no Python that can import torch: tried \/bin\/false \(cannot import torch\)/);
  r = await dc.raw('launch', { program: path.join(PROGS, 'gpt_train.py'), python: 'python-that-is-not-here' });
  assert.match(r.message, /tried python-that-is-not-here \(not found\)/);
  r = await dc.raw('launch', { program: path.join(PROGS, 'gpt_train.py'), module: 'x' });
  assert.match(r.message, /either 'program' .* or 'module', not both/);
  assert.strictEqual((await dc.raw('threads', {})).success, true);
  await dc.disconnectRequest({});
  await finish(dc);
});

test('a program that exits before running a module, and one killed while stopped', async () => {
  const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'ls-agent-'));
  const early = path.join(dir, 'early.py');
  fs.writeFileSync(early, 'import sys\nimport torch\nprint("bye", flush=True)\nsys.exit(3)\n');
  let { dc } = await open(early, { program: early });
  await h.withTimeout(dc.waitForEvent('terminated', 60000), 60000, 'terminated');
  const text = dc.outputs.map((o) => o.output).join('');
  assert.match(text, /bye/);
  assert.match(text, /the program exited with status 3 before it ran any nn\.Module/);
  await dc.disconnectRequest({});
  await finish(dc);

  ({ dc } = await open('custom_nan.py', {}, async (dc) => dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'fc1' }] })));
  const ev = await stopped(dc, 'function breakpoint');
  const pid = pidOf((await dc.threadsRequest()).body.threads[0].name);
  const terminated = dc.waitForEvent('terminated', 30000);
  process.kill(pid, 'SIGKILL');
  await terminated;
  const t2 = dc.outputs.map((o) => o.output).join('');
  assert.match(t2, /ended while it was stopped/);
  // still answering: a request that needs a stop says it is not stopped
  const st = await dc.raw('stackTrace', { threadId: ev.body.threadId });
  assert.strictEqual(st.success, false);
  await dc.disconnectRequest({});
  await finish(dc);
  fs.rmSync(dir, { recursive: true, force: true });
});
