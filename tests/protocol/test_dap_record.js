// test_dap_record.js: the launch argument `record` and the REPL's `sql` command. A session
// launched with a record file writes the run into it (docs/run-record.md): at a stop, `sql
// SELECT ...` in the Debug Console answers from the rows written so far (the module calls
// before the stop, the stop itself with its output's statistics, which agree with what the
// Variables view shows); a NaN stop is recorded as a finding; after the pass the file, read
// with `layerscope query`, holds the finished run with every module's calls. `sql` needs no
// stop (it answers while the pass runs on), and fails clearly: bad SQL (with where), a
// statement that writes, a session launched without a record, a record file that cannot be
// one (the launch's error). Every adapter message is schema-checked by the harness.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const fs = require('fs');
const cp = require('child_process');
const h = require('./lib/harness');
const ds = require('./lib/dap_session');

const { dir: DIR, config: CONFIG } = ds.scratch('ls-dap-record-');

function sql(dc, q) {
  return dc.raw('evaluate', { expression: `sql ${q}`, context: 'repl' });
}

function query(db, q) {
  return JSON.parse(cp.execFileSync(h.BIN, ['query', db, q, '--format', 'json']).toString());
}

test('a recorded session: sql at a stop, findings, the finished run in the file', async () => {
  const db = path.join(DIR, 'session.db');
  const weights = path.join(DIR, 'nan.safetensors');
  ds.writeSafetensors(weights, CONFIG, (name, a) => { if (name === 'model.layers.1.mlp.down_proj.weight') a[5 * 96 + 17] = NaN; });
  const { dc } = await ds.open(CONFIG, { record: db, weights }, async (dc) => {
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'model.layers.0.mlp' }] });
    await dc.setExceptionBreakpointsRequest({ filters: ['nan'] });
    await dc.configurationDoneRequest();
  });
  await ds.stopped(dc, 'function breakpoint');
  // the calls that ended before this stop are there, with the stop itself
  let r = await sql(dc, "SELECT phase, count(*) AS n FROM events GROUP BY phase ORDER BY phase");
  assert.ok(r.success, r.message);
  assert.match(r.body.result, /^phase\s+n\n-+\s+-+\nforward\s+\d+\nstop\s+1\n\(2 rows\)$/);
  assert.strictEqual(r.body.variablesReference, 0);
  r = await sql(dc, "SELECT m.name, s.tensor, s.shape, s.std FROM tensor_stats s JOIN modules m ON 0 = 1");
  assert.ok(r.success, r.message); // modules are written at the end: none yet, and no error
  assert.match(r.body.result, /\(0 rows\)$/);
  r = await sql(dc, "SELECT tensor, source, shape, count, nan, round(std, 6) AS std FROM tensor_stats");
  assert.ok(r.success, r.message);
  const ev = await dc.raw('evaluate', { expression: 'output.std', context: 'repl', frameId: (await ds.frames(dc))[0].id });
  const std = Number(ev.body.result);
  const row = r.body.result.split('\n')[2].trim().split(/\s+/);
  assert.deepStrictEqual(row.slice(0, 5), ['output', 'stop', '[1,8,64]', '512', '0']);
  assert.ok(Math.abs(Number(row[5]) - std) <= 1e-6 + 1e-5 * Math.abs(std), `${row[5]} vs ${std}`);
  // errors: clear, the session goes on
  r = await sql(dc, 'SELEC 1');
  assert.strictEqual(r.success, false);
  assert.match(r.message, /^sql: SQL error at character 1: near "SELEC": syntax error$/);
  r = await sql(dc, 'DELETE FROM runs');
  assert.strictEqual(r.success, false);
  assert.match(r.message, /read-only/);
  await dc.continueRequest({ threadId: 1 });
  const nan = await ds.stopped(dc, 'exception');
  assert.ok(nan.body.description || nan.body.text, JSON.stringify(nan.body));
  r = await sql(dc, "SELECT kind, message FROM findings");
  assert.ok(r.success, r.message);
  assert.match(r.body.result, /\nnan\s+NaN in model\.layers\.1\.mlp\.down_proj output/);
  await ds.endRun(dc);
  const runs = query(db, 'SELECT kind, status, config FROM runs');
  assert.deepStrictEqual(runs, [{ kind: 'debug', status: 'ok', config: CONFIG }]);
  const mods = query(db, 'SELECT count(*) AS n, sum(calls > 0) AS ran FROM modules');
  assert.ok(mods[0].n >= 30 && mods[0].ran >= 30, JSON.stringify(mods));
  const calls = query(db, "SELECT count(*) AS n FROM events WHERE phase = 'forward'");
  const sumCalls = query(db, 'SELECT sum(calls) AS n FROM modules');
  assert.strictEqual(calls[0].n, sumCalls[0].n, 'one event per module call');
  const stops = query(db, "SELECT count(*) AS n FROM events WHERE phase = 'stop'");
  assert.strictEqual(stops[0].n, 2);
});

test('sql while the pass runs, and without a record', async () => {
  const db = path.join(DIR, 'running.db');
  const { dc } = await ds.open(CONFIG, { record: db, tokens: undefined, randomTokens: 512 }, async (dc) => {
    await dc.configurationDoneRequest();
  });
  const r = await ds.answered(dc, 'evaluate', { expression: 'sql SELECT count(*) AS runs FROM runs', context: 'repl' });
  assert.ok(r.success, r.message);
  assert.match(r.body.result, /^runs\n-+\n\s*1\n\(1 row\)$/);
  await h.withTimeout(dc.waitForEvent('terminated', 20000), 25000, 'terminated');
  await ds.close(dc);

  const plain = await ds.open(CONFIG, {}, async (dc) => {
    await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'model.layers.0' }] });
    await dc.configurationDoneRequest();
  });
  await ds.stopped(plain.dc, 'function breakpoint');
  const none = await sql(plain.dc, 'SELECT 1');
  assert.strictEqual(none.success, false);
  assert.match(none.message, /^sql: this session records no run: launch it with a record file$/);
  await ds.endRun(plain.dc);
});

test('a record file that cannot be one is the launch\'s error', async () => {
  const notdb = path.join(DIR, 'not.db');
  fs.writeFileSync(notdb, 'not a database\n');
  for (const [record, want] of [[notdb, /not a SQLite database/], [DIR, /not a regular file/], ['', /non-empty string/], [7, /string path/]]) {
    const dc = new h.CheckedDebugClient();
    await dc.start();
    await dc.initializeRequest(ds.INIT_ARGS);
    const r = await dc.raw('launch', { config: CONFIG, tokens: ds.TOKENS, record });
    assert.strictEqual(r.success, false, JSON.stringify(record));
    assert.match(r.message, want);
    await dc.disconnectRequest({});
    await ds.finish(dc);
  }
  assert.strictEqual(fs.readFileSync(notdb, 'utf8'), 'not a database\n');
});
