/* Unit tests of the Training Health view (health.ts, panels.ts showHealth): the view model
 * from a hand-made report (log colour scale from the smallest to the largest positive value,
 * grey for unsampled and non-positive values, dead fractions linear on [0, 1], findings in
 * the report's order), the page (text escaped, no script, one cell per layer and step), which
 * record is shown (picked, the live session's relative to its cwd, the setting), the command
 * through the mocked vscode API following a record that a program keeps writing (the page is
 * drawn again with the new steps when the file changes, and a record without samples yet
 * waits), and, when a built layerscope and torch are available, the page from a real `watch
 * --health --record` run, whose gradient-norm cells are the report's values. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installMocks } from './vscode_mock';

const mocks = installMocks(path.join(os.tmpdir(), 'layerscope-ext-health'));
// Required after the mocks are in place (an import would be hoisted above them).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const H = require('../src/health') as typeof import('../src/health');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const panels = require('../src/panels') as typeof import('../src/panels');

const report = (steps: number[]) => ({
  schema: 'layerscope.health/1', record: '/runs/x.db', run_id: 2, n_ranks: 1, steps,
  loss: steps.map((s) => 1 + s), grad_norm: steps.map(() => 1),
  layers: [
    { name: 'blocks.0.fc', module: 3, grad_norm: steps.map((s, k) => (k === 1 ? null : 10 ** s)), update_ratio: steps.map(() => 0.01) },
    { name: 'head<x>', module: 5, grad_norm: steps.map(() => 0), update_ratio: steps.map(() => 0.01) },
  ],
  outputs: [{ name: 'blocks.0.act', dead: steps.map((_s, k) => (k === 0 ? 1 : 0.25)) }],
  findings: [
    { kind: 'dead', module: 4, name: 'blocks.0.act', step: 0, rank: 0, value: 1, baseline: 0.5, message: 'dead units in blocks.0.act from step 0 <b>' },
    { kind: 'loss_spike', module: null, name: null, step: 2, rank: 0, value: 3, baseline: 1, message: 'loss spike at step 2' },
  ],
});

test('health view model: log scale over the positive values, grey where unsampled, dead fractions linear', () => {
  const v = H.healthView(H.parseHealth(JSON.stringify(report([0, 1, 2]))));
  assert.equal(v.title, 'Training health of x.db, run 2');
  assert.deepEqual(v.grids.map((g) => g.title), ['Loss', 'Gradient norm', 'Update ratio', 'Dead units']);
  const grad = v.grids[1];
  // 10^0 and 10^2 are the ends: dark and yellow; step 1 was not sampled; a zero norm has no log
  assert.equal(grad.lo, 1);
  assert.equal(grad.hi, 100);
  assert.deepEqual(grad.rows[0].cells.map((c) => c.colour), [H.colour(0), '#888', H.colour(1)]);
  assert.equal(H.colour(0), 'rgb(68,1,84)');
  assert.equal(H.colour(1), 'rgb(253,231,37)');
  assert.ok(grad.rows[1].cells.every((c) => c.colour === '#888'));
  const dead = v.grids[3];
  assert.equal(dead.log, false);
  assert.deepEqual(dead.rows[0].cells.map((c) => c.colour), [H.colour(1), H.colour(0.25), H.colour(0.25)]);
  assert.equal(H.colour(0.25), 'rgb(59,82,139)');
  // the same scale for one value everywhere: the middle colour
  assert.deepEqual(v.grids[2].rows[0].cells.map((c) => c.colour), [H.colour(0.5), H.colour(0.5), H.colour(0.5)]);
  assert.deepEqual(v.findings.map((f) => [f.kind, f.step, f.name]), [['dead', 0, 'blocks.0.act'], ['loss_spike', 2, '']]);
});

test('health page: one cell per row and step, findings escaped, no script', () => {
  const html = H.healthHtml(H.healthView(H.parseHealth(JSON.stringify(report([0, 1, 2, 3])))), 'read now', 'vscode-test:');
  assert.equal((html.match(/<rect /g) ?? []).length, 4 * (1 + 2 + 2 + 1));
  assert.ok(html.includes('dead units in blocks.0.act from step 0 &lt;b&gt;'));
  assert.ok(html.includes('head&lt;x&gt;'));
  assert.match(html, /<title>blocks\.0\.fc, step 1: not sampled<\/title>/);
  assert.match(html, /<title>blocks\.0\.fc, step 2: 100<\/title>/);
  assert.ok(!/<script/i.test(html));
  assert.match(html, /Content-Security-Policy/);
  assert.throws(() => H.parseHealth(JSON.stringify({ ...report([0]), schema: 'layerscope.health/2' })), /newer/);
  assert.throws(() => H.parseHealth(JSON.stringify({ ...report([0]), layers: undefined })), /missing/);
});

test('which record: the picked one, else the live session\'s (relative to its cwd), else the setting', () => {
  assert.deepEqual(H.healthRecord('/a.db', { record: 'r.db', cwd: '/w' }, '/s.db'), { db: '/a.db', live: false });
  assert.deepEqual(H.healthRecord(undefined, { record: 'r.db', cwd: '/w' }, '/s.db'), { db: '/w/r.db', live: true });
  assert.deepEqual(H.healthRecord(undefined, { record: 'r.db', folder: '/f' }, '/s.db'), { db: '/f/r.db', live: true });
  assert.deepEqual(H.healthRecord(undefined, { cwd: '/w' }, '/s.db'), { db: '/s.db', live: false });
  assert.deepEqual(H.healthRecord(undefined, undefined, ''), { live: false });
  assert.deepEqual(H.healthArgs('/r.db'), ['report', '/r.db', '--format', 'json', '--no-store']);
});

const until = async (what: string, ok: () => boolean, ms = 5000) => {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('the command follows a live session\'s record: drawn again as steps arrive', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-ext-health-'));
  try {
    // a stand-in for layerscope: `report DB ...` prints DB.json, or fails as a record without samples does
    const bin = path.join(dir, 'layerscope');
    fs.writeFileSync(bin, '#!/bin/sh\n[ -f "$2.json" ] && exec cat "$2.json"\necho "layerscope report: $2: no health samples" >&2; exit 1\n');
    fs.chmodSync(bin, 0o755);
    const db = path.join(dir, 'run.db');
    fs.writeFileSync(db, 'a');
    mocks.activeDebugSession = { id: 's', type: 'layerscope', name: 'train', configuration: { record: 'run.db', cwd: dir } } as never;
    const log = { appendLine: (l: string) => mocks.logLines.push(l) } as never;
    const panel = await panels.showHealth(bin, undefined, log, { intervalMs: 30 });
    assert.ok(panel);
    const p = mocks.panels[mocks.panels.length - 1];
    assert.equal(p.viewType, 'layerscope.health');
    assert.match(p.webview.html, /waiting for the first sampled step/);
    fs.writeFileSync(`${db}.json`, JSON.stringify(report([0, 1])));
    fs.writeFileSync(db, 'ab');
    await until('the first steps', () => /2 sampled steps/.test(p.webview.html));
    fs.writeFileSync(`${db}.json`, JSON.stringify(report([0, 1, 2, 3, 4])));
    fs.writeFileSync(db, 'abc');
    await until('more steps', () => /5 sampled steps/.test(p.webview.html));
    assert.equal((p.webview.html.match(/<rect /g) ?? []).length, 5 * 6);
    p.dispose();
    await new Promise((r) => setTimeout(r, 50));
    fs.writeFileSync(`${db}.json`, JSON.stringify(report([0])));
    fs.writeFileSync(db, 'abcd');
    await new Promise((r) => setTimeout(r, 200));
    assert.match(p.webview.html, /5 sampled steps/, 'a closed panel stops following the file');
  } finally {
    mocks.activeDebugSession = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('health page from a real watch --health --record run', (t) => {
  const bin = process.env.LAYERSCOPE;
  if (!bin || !fs.existsSync(bin)) { t.skip('LAYERSCOPE not set to a built binary'); return; }
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch']).status !== 0) { t.skip('/usr/bin/python3 has no torch'); return; }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-ext-health-real-'));
  try {
    const db = path.join(dir, 'run.db');
    const prog = path.join(__dirname, '..', '..', '..', 'tests', 'fixtures', 'programs', 'train_faults.py');
    // with the sanitizer build (CTest sets LS_SANITIZE=1) the agent's library is built with
    // ASan: its runtime (and libstdc++, for torch's exceptions) must come first in Python
    const san = process.env.LS_SANITIZE === '1' && process.env.LS_VALGRIND !== '1'
      ? { LD_PRELOAD: `${spawnSync('gcc', ['-print-file-name=libasan.so']).stdout.toString().trim()} libstdc++.so.6`,
          ASAN_OPTIONS: 'detect_leaks=0', LSAN_OPTIONS: 'detect_leaks=0' }
      : {};
    execFileSync(bin, ['watch', '--health-every', '1', '--record', db, '--python', '/usr/bin/python3', '--', prog, 'explode',
      path.join(dir, 'ref.json')], { stdio: 'pipe', env: { ...process.env, ...san } });
    const h = H.parseHealth(execFileSync(bin, H.healthArgs(db)).toString());
    const ref = JSON.parse(fs.readFileSync(path.join(dir, 'ref.json'), 'utf8')) as { step: number; grad: Record<string, number> }[];
    assert.deepEqual(h.steps, ref.map((r) => r.step));
    // the layer's norm is torch's sqrt(sum of its parameters' squared gradient norms)
    const fc = h.layers.find((l) => l.name === 'blocks.2.fc');
    assert.ok(fc);
    ref.forEach((r, k) => {
      const want = Math.sqrt((r.grad['blocks.2.fc.weight'] ** 2) + (r.grad['blocks.2.fc.bias'] ** 2));
      assert.ok(Math.abs((fc.grad_norm[k] as number) - want) <= 1e-4 * want, `step ${k}: ${fc.grad_norm[k]} vs torch ${want}`);
    });
    const html = H.healthHtml(H.healthView(h));
    assert.ok(h.findings.some((f) => f.kind === 'exploding' && f.name === 'blocks.2.fc'));
    assert.ok(html.includes('exploding gradients in blocks.2.fc from step'));
    assert.equal((html.match(/<rect /g) ?? []).length, h.steps.length * (1 + 2 * h.layers.length + h.outputs.length));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
