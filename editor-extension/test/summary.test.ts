/* Unit tests of the webview pages: summary.ts (from a hand-made summary and, when a built
 * layerscope is available, from the real `summary --format json` of GPT-2 checked against its
 * published parameter count) and tensor.ts (histogram bars, heatmap cells, reply validation). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseSummary, summaryHtml, paramShare, formatBytes } from '../src/summary';
import { histogramSvg, heatmapSvg, validateTensorReply, tensorHtml } from '../src/tensor';
import { esc } from '../src/html';

const small = {
  schema: 'layerscope.summary/1', model_type: 'toy', architecture: 'Toy<Model>', batch: 1, seq: 4, dtype: 'fp32',
  params: 400, flops_per_token: 800, memory: { weights: { fp32: 1600 }, kv_cache: 2048 },
  issues: [{ severity: 'warning', code: 'bad-dim', message: 'x <b>' }],
  modules: [
    { name: '', type: 'Toy', depth: 0, params: 400, output_shape: ['B', 'S', 4] },
    { name: 'emb', type: 'Embedding', depth: 1, params: 100, output_shape: ['B', 'S', 4] },
    { name: 'head', type: 'Linear', depth: 1, params: 300, output_shape: ['B', 'S', 75] },
  ],
};

test('summary page: one row per module, bar widths are the parameter shares, text escaped', () => {
  const html = summaryHtml(parseSummary(JSON.stringify(small)), 'Summary');
  const rows = html.match(/<tr><td>/g) ?? [];
  assert.equal(rows.length, 3);
  const widths = [...html.matchAll(/class="bar" style="width:([\d.]+)%"/g)].map((x) => Number(x[1]));
  assert.deepEqual(widths, [100, 25, 75]);
  assert.ok(html.includes('Toy&lt;Model&gt;'));
  assert.ok(html.includes('x &lt;b&gt;'));
  assert.ok(!/<script/i.test(html));
  assert.match(html, /Content-Security-Policy/);
  assert.equal(paramShare(1, 0), 0);
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(esc(`<a href="x">'`), '&lt;a href=&quot;x&quot;&gt;&#39;');
});

test('summary parsing rejects other schemas and non-JSON with a message', () => {
  assert.throws(() => parseSummary('nope'), /not JSON/);
  assert.throws(() => parseSummary(JSON.stringify({ ...small, schema: 'layerscope.summary/2' })), /newer/);
  assert.throws(() => parseSummary(JSON.stringify({ ...small, schema: 'x' })), /unexpected schema/);
  assert.throws(() => parseSummary(JSON.stringify({ ...small, modules: null })), /modules/);
});

/* Real output of the built binary: GPT-2 has 124,439,808 parameters (published figure). */
test('summary page from the real layerscope output of GPT-2', (t) => {
  const root = path.resolve(__dirname, '..', '..', '..');
  const bin = process.env.LAYERSCOPE;
  if (!bin || !fs.existsSync(bin)) { t.skip('LAYERSCOPE not set to a built binary'); return; }
  const out = execFileSync(bin, ['summary', path.join(root, 'examples', 'gpt2', 'config.json'), '--format', 'json']).toString();
  const s = parseSummary(out);
  const html = summaryHtml(s, 'gpt2');
  assert.match(html, /id="params">124,439,808</);
  const lm = s.modules.find((m) => m.name === 'lm_head');
  assert.ok(lm, 'lm_head listed');
  assert.ok(html.includes('GPT2LMHeadModel'));
});

test('histogram: one bar per bin, heights proportional to the counts', () => {
  const svg = histogramSvg({ lo: -1, hi: 1, counts: [1, 4, 2, 0] }, 640, 240);
  const hs = [...svg.matchAll(/class="bin"[^>]* height="([\d.]+)"/g)].map((x) => Number(x[1]));
  assert.equal(hs.length, 4);
  const full = 240 - 30 - 10;
  assert.deepEqual(hs, [full / 4, full, full / 2, 0]);
  assert.match(svg, /\[-0\.5, 0\): 4/);
});

test('heatmap: rows x cols cells, brightest at the maximum', () => {
  const svg = heatmapSvg({ rows: 2, cols: 3, values: [0, 0.5, 1, 0.25, 0.75, 0] });
  const cells = [...svg.matchAll(/<rect [^>]*fill="(rgb\([^)]*\))"><title>\[(\d), (\d)\]/g)];
  assert.equal(cells.length, 6);
  assert.equal(cells[2][1], 'rgb(253,231,37)');
  assert.equal(cells[0][1], 'rgb(68,1,84)');
});

test('tensor replies are validated', () => {
  assert.throws(() => validateTensorReply({}, 'histogram'), /no "histogram"/);
  assert.throws(() => validateTensorReply({ histogram: { lo: 0, hi: 1, counts: [1, -1] } }, 'histogram'), /not a count/);
  assert.throws(() => validateTensorReply({ heatmap: { rows: 2, cols: 2, values: [1, 2, 3] } }, 'heatmap'), /3 entries, expected 2x2/);
  assert.throws(() => validateTensorReply({ heatmap: { rows: 0, cols: 2, values: [] } }, 'heatmap'), /positive integers/);
  const r = validateTensorReply({ shape: [1, 8], histogram: { lo: 0, hi: 1, counts: [3, 5] } }, 'histogram');
  assert.match(tensorHtml('output', 'histogram', r), /8 finite values/);
});

test('histogram fallback: the text of hist(x, n) from evaluate', () => {
  // As `layerscope debug --eval 'hist(input, 4)'` prints it (widths differ per value).
  const text = '[    -3.127,      -1.632)         30 ####\n[     -1.632,    -0.1377)        180 ######\n' +
    '[   -0.1377,      1.357)        257 ##########\n[     1.357,      2.851]         45 ##';
  const { parseHistogramText, shapeFromValue } = require('../src/tensor');
  const h = parseHistogramText(text);
  assert.equal(h.lo, -3.127);
  assert.equal(h.hi, 2.851);
  assert.deepEqual(h.counts, [30, 180, 257, 45]);
  assert.deepEqual(parseHistogramText('[1e-05, 2.5e-05] 7 #').counts, [7]);
  assert.throws(() => parseHistogramText('column 1: unknown name \'foo\''), /no histogram bins/);
  assert.deepEqual(shapeFromValue('f32[1,8,64] μ=7.45e-09 σ=0.998'), [1, 8, 64]);
  assert.deepEqual(shapeFromValue('42'), []);
});
