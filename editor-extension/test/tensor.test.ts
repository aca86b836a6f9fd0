/* tensor.test.ts: heatmap replies as the adapter's `layerscopeTensor` sends them
 * (dap/handlers/layerscope_tensor.c): null cells (no finite value) drawn grey, the
 * block-averaging note of a downsampled matrix, and values that are neither numbers nor null
 * rejected with the field named. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { heatmapSvg, tensorHtml, validateTensorReply } from '../src/tensor';

test('heatmap: a null cell is grey and does not stretch the colour range', () => {
  const svg = heatmapSvg({ rows: 1, cols: 3, values: [0, null, 1] });
  const fills = [...svg.matchAll(/fill="(rgb\([^)]*\))"/g)].map((m) => m[1]);
  assert.deepEqual(fills, ['rgb(68,1,84)', 'rgb(128,128,128)', 'rgb(253,231,37)']);
  assert.match(svg, /\[0, 1\] no finite value/);
  assert.match(svg, /colour from 0 \(dark\) to 1 \(bright\)/);
});

test('a downsampled heatmap says from what and in which blocks', () => {
  const body = { shape: [1, 4, 200, 200], head: 3, heads: 4, source: [200, 200], block: [2, 2], downsampled: true,
    heatmap: { rows: 2, cols: 2, values: [1, 0, 0.5, 0.5] } };
  const r = validateTensorReply(body, 'heatmap');
  assert.deepEqual(r.block, [2, 2]);
  const html = tensorHtml('probs', 'heatmap', r, 3);
  assert.match(html, /Attention, head 3 \(2 x 2\)/);
  assert.match(html, /block-averaged from 200 x 200 in 2 x 2 blocks/);
  const plain = tensorHtml('probs', 'heatmap', validateTensorReply({ ...body, downsampled: false, block: [1, 1] }, 'heatmap'), 3);
  assert.doesNotMatch(plain, /block-averaged/);
  assert.throws(() => validateTensorReply({ heatmap: { rows: 1, cols: 2, values: [1, 'x'] } }, 'heatmap'), /neither a number nor null/);
});
