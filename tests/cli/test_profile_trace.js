// test_profile_trace.js: `layerscope profile --trace` writes what trace viewers read. The
// file is checked against a JSON schema written from the Trace Event Format document
// (tests/fixtures/trace/trace-event-format.schema.json, with ajv from tests/protocol), and
// then against what Perfetto and chrome://tracing need beyond the schema: complete events on
// one thread nest (each one ends before the event it starts inside ends, i.e. the events of
// a thread form a stack), durations and timestamps are non-negative, every thread with
// events is named by a thread_name metadata event, the engine thread (tid 1) holds exactly
// one event per module call (the root's spans the whole pass), there is one named track per
// worker thread (tids 2..threads) whose pool jobs lie inside the pass, and the memory
// counter's series are numbers.
// Perfetto's trace processor is published neither on npm nor in Debian, so it is not run.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const os = require('os');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const Ajv = require(path.join(ROOT, 'tests', 'protocol', 'node_modules', 'ajv'));
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'trace', 'trace-event-format.schema.json'), 'utf8'));
const LS = process.env.LAYERSCOPE || 'layerscope';

const LLAMA = {
  // products large enough (the LM head: 64 x 128 x 8192) that workers usually take tasks of
  // them; on a loaded machine a worker may get no CPU during the pass, so a track may be
  // empty (tests/unit/test_engine.c checks the pool's recording deterministically)
  model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 128, intermediate_size: 512,
  num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 3, vocab_size: 8192,
  max_position_embeddings: 512, torch_dtype: 'float32',
};

function profile(dir, threads, extra = []) {
  const cfg = path.join(dir, 'config.json');
  fs.writeFileSync(cfg, JSON.stringify(LLAMA));
  const trace = path.join(dir, `trace-${threads}.json`);
  const p = spawnSync(LS, ['profile', cfg, '--random-tokens', '64', '--threads', String(threads), '--no-peaks',
    '--format', 'json', '--trace', trace, ...extra], { encoding: 'utf8', timeout: 120000 });
  assert.strictEqual(p.status, 0, p.stderr);
  return { prof: JSON.parse(p.stdout), trace: JSON.parse(fs.readFileSync(trace, 'utf8')) };
}

// The complete events of one thread, by start then longest first, must form a stack.
function checkNesting(events, tid) {
  const xs = events.filter((e) => e.ph === 'X' && e.tid === tid)
    .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const stack = [];
  for (const e of xs) {
    assert.ok(e.dur >= 0 && e.ts >= 0, `negative time: ${JSON.stringify(e)}`);
    while (stack.length && stack[stack.length - 1].ts + stack[stack.length - 1].dur <= e.ts) stack.pop();
    if (stack.length) {
      const top = stack[stack.length - 1];
      // ts and dur are printed from integer nanoseconds: compare in nanoseconds, exactly
      const end = Math.round((e.ts + e.dur) * 1000), topEnd = Math.round((top.ts + top.dur) * 1000);
      assert.ok(end <= topEnd, `tid ${tid}: ${e.name} [${e.ts}, +${e.dur}] overlaps ${top.name} [${top.ts}, +${top.dur}] without nesting`);
    }
    stack.push(e);
  }
  return xs;
}

test('the trace validates against the Trace Event Format schema and nests per thread', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-trace-'));
  try {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(SCHEMA);
    for (const threads of [1, 2, 3]) {
      const { prof, trace } = profile(dir, threads);
      assert.ok(validate(trace), JSON.stringify(validate.errors, null, 1));
      const ev = trace.traceEvents;
      const named = new Set(ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.tid));
      for (const e of ev) if (e.ph === 'X') assert.ok(named.has(e.tid), `tid ${e.tid} has no thread_name`);
      const engine = checkNesting(ev, 1);
      const calls = prof.modules.reduce((s, m) => s + m.calls, 0);
      assert.strictEqual(engine.length, calls, 'one complete event per module call on the engine thread');
      const root = engine[0];
      assert.strictEqual(root.name, '(root)');
      assert.strictEqual(Math.round(root.dur * 1000), prof.total_ns, 'the root event spans the total');
      const tids = new Set(ev.filter((e) => e.ph === 'X').map((e) => e.tid));
      for (const t of tids) {
        assert.ok(t >= 1 && t <= threads, `tid ${t} with ${threads} threads`);
        const jobs = checkNesting(ev, t);
        if (t > 1) {
          for (const j of jobs) {
            assert.strictEqual(j.cat, 'job');
            assert.ok(j.args.tasks >= 1);
            // a job starts inside the pass
            assert.ok(j.ts >= root.ts && j.ts <= root.ts + root.dur + 1e-3, `job ${j.name} at ${j.ts} outside the pass`);
          }
        }
      }
      for (let t = 1; t <= threads; t++) assert.ok(named.has(t), `no track for thread ${t}`);
      const mem = ev.filter((e) => e.ph === 'C');
      assert.ok(mem.length >= 2 + LLAMA.num_hidden_layers, 'memory counter samples');
      for (const c of mem) assert.ok(c.args.rss_mib > 0, JSON.stringify(c));
      assert.strictEqual(trace.displayTimeUnit, 'ns');
      assert.strictEqual(trace.otherData.threads, threads);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the schema rejects what viewers reject', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(SCHEMA);
  const ok = { traceEvents: [{ name: 'a', ph: 'X', ts: 1, dur: 2, pid: 1, tid: 1 }] };
  assert.ok(validate(ok));
  const bad = [
    { traceEvents: [{ name: 'a', ph: 'X', ts: 1, dur: -2, pid: 1, tid: 1 }] },      // negative duration
    { traceEvents: [{ name: 'a', ph: 'X', ts: 1, pid: 1, tid: 1 }] },               // X without dur
    { traceEvents: [{ name: 'm', ph: 'C', ts: 1, pid: 1, tid: 1, args: { v: 'x' } }] }, // counter not a number
    { traceEvents: [{ name: 'thread_name', ph: 'M', pid: 1, tid: 1, args: {} }] },  // metadata without its name
    { traceEvents: [{ name: 'a', ph: 'Q', ts: 1, pid: 1, tid: 1 }] },               // unknown phase
    { traceEvents: {}, displayTimeUnit: 'ms' },                                     // events not an array
    { traceEvents: [], displayTimeUnit: 's' },                                      // unit
  ];
  for (const b of bad) assert.ok(!validate(b), `accepted ${JSON.stringify(b)}`);
});
