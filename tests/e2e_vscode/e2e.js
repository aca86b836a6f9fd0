#!/usr/bin/env node
/* e2e.js: drives VS Code (code-server) in headless Debian Chromium with playwright-core the
 * way a user would, after run.sh installed the layerscope VSIX: open config.json, hover a key
 * and read the shapes, open Problems and see the smell, apply its quick fix, look at the
 * Model Layers view and add a module breakpoint from it, open the Model Summary webview and
 * the Profile webview (table, per-kind bars, flame graph), the Training Health webview on a
 * record of a training run with planted exploding gradients (findings, heatmaps), then F5 (no launch.json: the extension's configuration provider fills in the active
 * config.json), wait for the pause, read Call Stack and Variables and open the histogram
 * webview. Then F9 in the gutter on the n_head and n_inner lines and F5: the pass stops at
 * transformer.h.0.attn (line of n_head), where the attention heatmap of `probs` head 1 must
 * show a causal softmax (rows summing to 1, nothing above the diagonal), and, on continue,
 * at transformer.h.0.mlp (line of n_inner). Then the user's own PyTorch program: the NaN
 * exception filter ticked, F5 on train.py (still no launch.json): the program stops at its
 * first NaN with train.py's line in the Call Stack, Model Layers shows the program's live
 * module tree, and its backward action adds "backward:NAME". Last, a launch.json with
 * `weights` on the random checkpoint run.sh wrote into ckpt/: the Debug Console's
 * transformer.wte.max/min/mean must equal numpy's figures of those weights
 * (ckpt/expected.json). Every step is recorded in one JSON report with a screenshot under
 * --out.
 * Usage: node e2e.js --url http://127.0.0.1:PORT --folder /abs/ws --out DIR --require a,b,c
 * Exit 0 when every required check passed, 1 otherwise. */
'use strict';
const { chromium } = require('playwright-core');
const path = require('path');
const fs = require('fs');

const a = {};
for (let i = 2; i < process.argv.length; i++) a[process.argv[i].replace(/^--/, '')] = process.argv[++i];
const T = Number(a['timeout-ms'] || 60000);
const report = { ok: false, checks: {}, details: {}, errors: [], shots: [] };
const required = (a.require || '').split(',').filter(Boolean);
let page_;
const norm = (s) => s.replace(/\s+/g, ' ').trim();

async function shot(page, name) {
  const p = path.join(a.out, name + '.png');
  await page.screenshot({ path: p });
  report.shots.push(p);
}

async function palette(page, text) {
  await page.keyboard.press('Control+Shift+P');
  await page.waitForSelector('.quick-input-widget input', { timeout: T });
  await page.keyboard.type(text);
  await page.waitForTimeout(800);
  await page.keyboard.press('Enter');
}

async function step(name, fn) {
  // Close menus, hovers and quick inputs a failed step may have left open.
  for (let i = 0; i < 2; i++) { await page_.keyboard.press('Escape').catch(() => {}); }
  try { report.checks[name] = !!(await fn()); } catch (e) {
    report.checks[name] = false; report.errors.push(`${name}: ${(e && e.message || String(e)).split('\n')[0]}`);
  }
}

function layersPane(page) {
  return page.locator('.pane', { has: page.locator('.pane-header[aria-label^="Model Layers"]') });
}

/* Text of every frame (webviews are nested iframes) that matches re. */
async function frameText(page, re) {
  for (const f of page.frames()) {
    try {
      const t = await f.evaluate(() => document.body ? document.body.innerText : '');
      if (re.test(t)) return t;
    } catch (e) { /* detached frame */ }
  }
  return '';
}

/* Evaluates fn in the first frame whose text matches re (the webview's inner iframe). */
async function frameEval(page, re, fn) {
  for (const f of page.frames()) {
    try {
      const t = await f.evaluate(() => document.body ? document.body.innerText : '');
      if (re.test(t)) return await f.evaluate(fn);
    } catch (e) { /* detached frame */ }
  }
  return null;
}

/* 1-based line of a key in a workspace file, as the user sees it in the editor. */
function lineOf(rel, key) {
  return fs.readFileSync(path.join(a.folder, rel), 'utf8').split('\n').findIndex((l) => l.includes(`"${key}"`)) + 1;
}

async function openFile(page, rel) {
  await page.keyboard.press('Control+P');
  await page.waitForSelector('.quick-input-widget input', { timeout: T });
  await page.keyboard.type(rel);
  await page.waitForTimeout(1000);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(1000);
}

async function gotoLine(page, line) {
  await page.keyboard.press('Control+G');
  await page.waitForSelector('.quick-input-widget input', { timeout: T });
  await page.keyboard.type(String(line));
  await page.keyboard.press('Enter');
  await page.waitForTimeout(300);
}

/* Replaces the text of an open input box and accepts it. */
async function answerInput(page, text) {
  await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: T });
  await page.waitForTimeout(300);
  await page.keyboard.press('Control+A');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(500);
}

/* F5; when VS Code asks for a debugger or configuration, takes `pick` (or layerscope). */
async function startDebugging(page, pick) {
  await page.keyboard.press('F5');
  await page.waitForTimeout(1500);
  const qi = page.locator('.quick-input-widget .monaco-list-row', { hasText: pick || 'layerscope' }).first();
  if (await qi.count() && await qi.isVisible()) await qi.click();
}

/* Waits for the Call Stack's top frame to match re; returns its text ('' on timeout). */
async function topFrame(page, re) {
  for (let i = 0; i < 90; i++) {
    const rows = (await page.locator('.debug-call-stack .monaco-list-row').allInnerTexts()).map(norm);
    const hit = rows.find((r) => re.test(r));
    if (hit) return hit;
    await page.waitForTimeout(500);
  }
  return '';
}

/* The Breakpoints view's own "Remove All Breakpoints" action (the palette's fuzzy match can
 * pick "... in File" instead); true when only the exception filters are left. */
async function removeAllBreakpoints(page) {
  const header = page.locator('.pane-header', { has: page.locator('h3', { hasText: /^Breakpoints$/i }) }).first();
  await header.hover().catch(() => {});
  await page.waitForTimeout(300);
  const act = page.locator('.pane-header .action-label[aria-label="Remove All Breakpoints"]').first();
  if (await act.count()) await act.click().catch(() => {});
  else await palette(page, 'Debug: Remove All Breakpoints');
  await page.waitForTimeout(800);
  const rows = (await page.locator('.debug-breakpoints .monaco-list-row').allInnerTexts()).map(norm);
  return rows.every((r) => /^(NaN|Inf|fp16 overflow)$/.test(r));
}

/* Clicks the inline action `action` (first match) of the Model Layers row matching `row`, then
 * shows Run and Debug; returns the Breakpoints view's rows. */
async function breakpointFromLayers(page, row, action) {
  const r = layersPane(page).locator('.monaco-list-row', { hasText: row }).first();
  await r.hover();
  await page.waitForTimeout(300);
  await r.locator(action).first().click();
  await page.waitForTimeout(800);
  await palette(page, 'View: Show Run and Debug');
  await page.waitForTimeout(1500);
  return (await page.locator('.debug-breakpoints .monaco-list-row').allInnerTexts()).map(norm);
}

/* Hides the bottom panel (Debug Console) so a picture gets the height; Ctrl+J toggles it. */
async function hidePanel(page) {
  if (await page.locator('.part.panel').isVisible().catch(() => false)) { await page.keyboard.press('Control+J'); await page.waitForTimeout(500); }
}

async function stopDebugging(page) {
  await page.keyboard.press('Escape').catch(() => {});
  await page.keyboard.press('Shift+F5').catch(() => {});
  for (let i = 0; i < 20; i++) {
    await page.waitForTimeout(500);
    if (!(await page.locator('.debug-toolbar').isVisible().catch(() => false))) break;
  }
  await page.waitForTimeout(500);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: a.chromium || '/usr/bin/chromium', headless: true, timeout: T,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  page_ = page;
  page.on('pageerror', (e) => report.errors.push('pageerror: ' + e.message.slice(0, 200)));
  try {
    await page.goto(`${a.url}/?folder=${encodeURIComponent(a.folder)}`, { waitUntil: 'domcontentloaded', timeout: T });
    await page.waitForSelector('.monaco-workbench', { timeout: T });
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: T });
    await page.waitForTimeout(1500);
    await page.locator('.explorer-folders-view .monaco-list-row[aria-label^="config.json"]').first().click();
    await page.waitForSelector('.editor-instance .monaco-editor .view-lines', { timeout: T });
    await page.waitForTimeout(5000); // extension activation, server start, first diagnostics
    await shot(page, '01-open');

    await step('hover', async () => {
      const tok = page.locator('.editor-instance .monaco-editor .view-line span[class*="mtk"]', { hasText: '"n_embd"' }).first();
      await tok.waitFor({ timeout: T });
      const box = await tok.boundingBox();
      let text = '';
      for (let i = 0; i < 5 && !/\[B, S, 64\]|\[.*64.*\]/.test(text); i++) {
        await page.mouse.move(box.x + 2, box.y + box.height / 2);
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
        await page.waitForSelector('.monaco-hover .hover-contents, .monaco-hover .markdown-hover', { state: 'visible', timeout: 5000 }).catch(() => {});
        await page.waitForTimeout(1000);
        text = (await page.locator('.monaco-hover').allInnerTexts()).join('\n').trim();
        if (!text) { await page.mouse.move(10, 10); await page.waitForTimeout(500); }
      }
      report.details.hover = text.slice(0, 600);
      await shot(page, '02-hover');
      await page.mouse.move(10, 10);
      return /64/.test(text) && /\[[^\]]*\d+[^\]]*\]/.test(text);
    });

    await step('problem', async () => {
      await page.keyboard.press('Control+Shift+M');
      await page.waitForSelector('.markers-panel', { timeout: T });
      await page.waitForTimeout(1500);
      const rows = (await page.locator('.markers-panel .monaco-list-row').allInnerTexts()).map(norm);
      report.details.problems = rows;
      await shot(page, '03-problems');
      return rows.some((r) => /vocab/.test(r) && /64/.test(r));
    });

    await step('quickfix', async () => {
      // Put the cursor on the diagnostic (Problems row click), then Ctrl+. and take the fix.
      const row = page.locator('.markers-panel .monaco-list-row', { hasText: 'vocab' }).last();
      await row.dblclick();   // reveals the range and focuses the editor
      await page.waitForTimeout(1000);
      await page.keyboard.press('Control+.');
      await page.waitForSelector('.action-widget, .context-view .monaco-list', { timeout: 10000 });
      await page.waitForTimeout(800);
      const items = (await page.locator('.action-widget .monaco-list-row, .context-view .monaco-list-row').allInnerTexts()).map(norm);
      report.details.quickFixes = items;
      await shot(page, '04-quickfix-menu');
      if (!items.some((t) => /1024/.test(t))) return false;
      // The first action is preselected; Enter applies it (a click races the widget's animation).
      await page.keyboard.press('Enter');
      await page.waitForTimeout(1500);
      const text = (await page.locator('.editor-instance .monaco-editor .view-lines').first().innerText());
      report.details.afterFix = (text.match(/"vocab_size".*/) || [''])[0];
      await page.keyboard.press('Control+S');
      await page.waitForTimeout(1000);
      await shot(page, '05-quickfix-applied');
      return /"vocab_size":\s*1024/.test(norm(text));
    });

    await step('layers', async () => {
      await palette(page, 'Explorer: Focus on Model Layers View');
      await page.waitForTimeout(2500);
      const rows = layersPane(page).locator('.monaco-list-row');
      report.details.layers = (await rows.allInnerTexts()).map(norm).slice(0, 20);
      await shot(page, '06-layers');
      return report.details.layers.some((r) => /GPT2LMHeadModel/.test(r)) && report.details.layers.some((r) => /transformer/.test(r));
    });

    await step('layersBreakpoint', async () => {
      const bps = await breakpointFromLayers(page, 'lm_head', '.action-label');
      report.details.breakpoints = bps;
      await shot(page, '07-breakpoint-from-layers');
      return bps.some((b) => /lm_head/.test(b));
    });

    await step('summary', async () => {
      await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
      await palette(page, 'layerscope: Show Model Summary');
      let text = '';
      for (let i = 0; i < 20 && !text; i++) { await page.waitForTimeout(500); text = await frameText(page, /parameters/); }
      report.details.summary = text.slice(0, 400);
      await shot(page, '08-summary');
      // 1024-token vocab after the quick fix: 172,288 - 64,000 + 65,536 = 173,824 (tied lm_head).
      return /GPT2LMHeadModel/.test(text) && /173,824/.test(text) && /lm_head/.test(text);
    });

    // Profile Forward Pass on the same config: the webview shows the pass's figures, the time
    // per kind (shares summing to 100%), the notes and the flame graph with a box per module.
    await step('profile', async () => {
      await page.keyboard.press('Control+K'); await page.keyboard.press('Control+W'); // close the summary
      await page.waitForTimeout(500);
      await openFile(page, 'config.json');
      await palette(page, 'layerscope: Profile Forward Pass');
      await answerInput(page, '32');
      let text = '';
      for (let i = 0; i < 60 && !text; i++) { await page.waitForTimeout(500); text = await frameText(page, /Time per kind of work/); }
      report.details.profile = text.slice(0, 600);
      const fig = await frameEval(page, /Time per kind of work/, () => {
        const rects = document.querySelectorAll('svg.flame rect').length;
        const shares = [...document.querySelectorAll('table.kinds tr')].slice(1)
          .map((r) => Number((r.children[2] && r.children[2].textContent || '').replace('%', '')));
        const titles = [...document.querySelectorAll('svg.flame title')].map((x) => x.textContent);
        return { rects, shares, lm: titles.some((x) => /^lm_head /.test(x)) };
      });
      report.details.profileFigures = fig;
      await hidePanel(page);
      await page.keyboard.press('Control+B'); // the side bar, so the view is wide enough to read
      await page.waitForTimeout(800);
      await shot(page, '08b-profile');
      await page.keyboard.press('Control+B');
      const sum = fig ? fig.shares.reduce((x, y) => x + y, 0) : 0;
      return /GPT2LMHeadModel/.test(text) && /S=32/.test(text) && /Flame graph/.test(text) && /Modules by self time/.test(text) &&
        fig && fig.rects > 20 && fig.lm && Math.abs(sum - 100) < 0.5;
    });

    // Show Training Health on the record run.sh wrote with `watch --health --record` (the
    // layerscope.runRecord setting names it; no debug session is active yet): the findings
    // name the exploding layer, and each heatmap has one cell per layer and sampled step.
    await step('health', async () => {
      await page.keyboard.press('Control+K'); await page.keyboard.press('Control+W'); // close the profile
      await page.waitForTimeout(500);
      await palette(page, 'layerscope: Show Training Health');
      let text = '';
      for (let i = 0; i < 40 && !text; i++) { await page.waitForTimeout(500); text = await frameText(page, /Findings \(\d+\)/); }
      report.details.health = text.slice(0, 600);
      const fig = await frameEval(page, /Findings \(\d+\)/, () => ({
        rects: document.querySelectorAll('svg.heat rect').length,
        heatmaps: document.querySelectorAll('svg.heat').length,
        findings: [...document.querySelectorAll('ul.findings li')].map((x) => x.getAttribute('data-kind')),
        steps: (document.body.innerText.match(/(\d+) sampled steps/) || [])[1],
      }));
      report.details.healthFigures = fig;
      await hidePanel(page);
      await page.keyboard.press('Control+B');
      await page.waitForTimeout(800);
      await shot(page, '08c-health');
      await page.keyboard.press('Control+B');
      const want = JSON.parse(fs.readFileSync(path.join(a.folder, 'health.json'), 'utf8'));
      const rows = 1 + 2 * want.layers.length + want.outputs.length;
      return /exploding gradients in blocks\.2\.fc from step/.test(text) && fig && fig.heatmaps === 4 &&
        Number(fig.steps) === want.steps.length && fig.rects === want.steps.length * rows &&
        fig.findings.length === want.findings.length && fig.findings.includes('exploding');
    });

    await step('debugPaused', async () => {
      await page.keyboard.press('Control+K'); await page.keyboard.press('Control+W'); // close editors (summary panel)
      await page.waitForTimeout(500);
      await page.locator('.explorer-folders-view .monaco-list-row[aria-label^="config.json"]').first().click().catch(async () => {
        await page.keyboard.press('Control+P'); await page.keyboard.type('config.json'); await page.waitForTimeout(600); await page.keyboard.press('Enter');
      });
      await page.waitForTimeout(800);
      await palette(page, 'View: Show Run and Debug');
      await page.waitForTimeout(800);
      await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
      await page.keyboard.press('F5');
      await page.waitForTimeout(1500);
      // VS Code may ask which debugger to use when there is no launch.json.
      const qi = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'layerscope' }).first();
      if (await qi.count()) await qi.click();
      const paused = await page.waitForSelector('.debug-call-stack .state.label, .codicon-debug-stackframe', { timeout: 45000 })
        .then(() => true).catch(() => false);
      await page.waitForTimeout(2000);
      report.details.callStack = (await page.locator('.debug-call-stack .monaco-list-row').allInnerTexts()).map(norm);
      report.details.statusBar = (await page.locator('.statusbar-item', { hasText: 'layerscope' }).allInnerTexts()).map(norm);
      report.details.debugConsole = (await page.locator('.repl .monaco-list-row').allInnerTexts()).map(norm).filter(Boolean).slice(-10);
      await shot(page, '09-debug-paused');
      report.checks.statusBar = report.details.statusBar.some((t) => /layerscope: lm_head/.test(t));
      return paused && report.details.callStack.some((r) => /^lm_head \(Linear/.test(r));
    });

    await step('variables', async () => {
      const read = async () => (await page.locator('.debug-variables .monaco-list-row').allInnerTexts()).map(norm);
      let v = await read();
      if (v.length && !v.some((x) => /μ=|mean|nan=/.test(x))) {
        await page.locator('.debug-variables .monaco-list-row').first().click();
        await page.waitForTimeout(1500);
        v = await read();
      }
      report.details.variables = v.slice(0, 20);
      await shot(page, '10-variables');
      return v.some((x) => /\[.*\].*(μ=|mean).*nan=/.test(x));
    });

    await step('histogram', async () => {
      const row = page.locator('.debug-variables .monaco-list-row', { hasText: /μ=|nan=/ }).first();
      if (!(await row.count())) return false;
      await row.click({ button: 'right' });
      await page.waitForTimeout(600);
      const item = page.locator('.context-view .action-label, .monaco-menu .action-label', { hasText: 'Show Tensor Histogram' }).first();
      await item.click();
      let text = '';
      for (let i = 0; i < 20 && !text; i++) { await page.waitForTimeout(500); text = await frameText(page, /Histogram \(/); }
      report.details.histogram = text.slice(0, 300);
      await shot(page, '11-histogram');
      // The bins must hold every element of the tensor: numel from the shape in Variables.
      const shape = ((report.details.variables || []).join(' ').match(/input = \w+\[([\d,]+)\]/) || [])[1];
      const numel = shape ? shape.split(',').reduce((p, d) => p * Number(d), 1) : -1;
      report.details.histogramExpectedCount = numel;
      return new RegExp(`\\(64 bins, ${numel.toLocaleString('en-US')} finite values\\)`).test(text);
    });
    await stopDebugging(page);

    // F9 in the gutter of config.json on the n_head and n_inner lines, F5: the pass stops at
    // the modules those keys configure, first the attention of layer 0 (its line n_head).
    let attnStop = false;
    await step('heatmap', async () => {
      report.details.removedAll = await removeAllBreakpoints(page);
      await page.keyboard.press('Control+K'); await page.keyboard.press('Control+W'); // close all editors
      await page.waitForTimeout(500);
      await openFile(page, 'config.json');
      for (const key of ['n_head', 'n_inner']) { await gotoLine(page, lineOf('config.json', key)); await page.keyboard.press('F9'); await page.waitForTimeout(400); }
      report.details.gutterBreakpoints = (await page.locator('.debug-breakpoints .monaco-list-row').allInnerTexts()).map(norm);
      report.details.gutterGlyphs = await page.locator('.editor-instance .codicon-debug-breakpoint').count();
      await startDebugging(page);
      const top = await topFrame(page, /^transformer\.h\.0\.attn /);
      report.details.attnStop = top;
      attnStop = new RegExp(`^transformer\\.h\\.0\\.attn \\(GPT2Attention, exit\\) config\\.json ${lineOf('config.json', 'n_head')}:`).test(top);
      await shot(page, '12-gutter-breakpoint-attn');
      // Show Attention Heatmap from the palette: expression `probs`, head 1.
      await palette(page, 'layerscope: Show Attention Heatmap');
      await answerInput(page, 'probs');
      await answerInput(page, '1');
      let text = '';
      for (let i = 0; i < 20 && !text; i++) { await page.waitForTimeout(500); text = await frameText(page, /Attention, head 1/); }
      report.details.heatmap = text.slice(0, 300);
      // What the picture shows: one <rect> per cell, its tooltip "[query, key] value".
      const cells = await frameEval(page, /Attention, head 1/, () =>
        [...document.querySelectorAll('svg[aria-label="heatmap"] rect title')].map((t) => t.textContent));
      await hidePanel(page);
      await page.waitForTimeout(800);
      await shot(page, '13-heatmap');
      const m = new Map((cells || []).map((c) => { const x = /^\[(\d+), (\d+)\] (\S+)$/.exec(c); return x ? [`${x[1]},${x[2]}`, Number(x[3])] : ['?', NaN]; }));
      // 8 random tokens: an 8 x 8 matrix of a causal softmax: rows sum to 1 (4 significant
      // digits in the tooltips), nothing above the diagonal, the first query only on itself.
      let rowsOk = m.size === 64, upper = 0;
      for (let r = 0; r < 8; r++) {
        let sum = 0;
        for (let c = 0; c < 8; c++) { const v = m.get(`${r},${c}`); sum += v; if (c > r && v !== 0) upper++; }
        if (!(Math.abs(sum - 1) < 0.01)) rowsOk = false;
      }
      report.details.heatmapCells = m.size;
      report.details.heatmapUpperNonzero = upper;
      return /probs \[1, 4, 8, 8\]/.test(text) && /\(8 x 8\)/.test(text) && rowsOk && upper === 0 && m.get('0,0') === 1;
    });

    await step('gutterBreakpoint', async () => {
      await page.keyboard.press('Control+K'); await page.keyboard.press('Control+W'); // close the heatmap
      await page.waitForTimeout(500);
      await page.keyboard.press('F5'); // continue: the next module n_head or n_inner configures
      await page.waitForTimeout(1500);
      const top = await topFrame(page, /^transformer\.h\.0\.mlp /);
      report.details.mlpStop = top;
      await page.waitForTimeout(1000);
      await shot(page, '14-gutter-breakpoint-mlp');
      const line = lineOf('config.json', 'n_inner');
      return attnStop && report.details.gutterGlyphs >= 2 &&
        new RegExp(`^transformer\\.h\\.0\\.mlp \\(GPT2MLP, exit\\) config\\.json ${line}:`).test(top);
    });
    await stopDebugging(page);

    // The user's PyTorch program: F5 on train.py without launch.json launches it with the
    // agent; the NaN filter stops at the forward pass of module "0" in step 2, called from the
    // line of train.py marked "the NaN stop".
    await step('program', async () => {
      report.details.removedAllBeforeProgram = await removeAllBreakpoints(page);
      const nan = page.locator('.debug-breakpoints .monaco-list-row', { hasText: /^NaN$/ }).first().locator('input[type="checkbox"]');
      if (!(await nan.isChecked())) await nan.click();
      await page.waitForTimeout(300);
      report.details.nanFilterChecked = await nan.isChecked();
      await page.keyboard.press('Control+K'); await page.keyboard.press('Control+W'); // close all editors
      await page.waitForTimeout(500);
      await openFile(page, 'train.py');
      await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
      await startDebugging(page);
      const line = fs.readFileSync(path.join(a.folder, 'train.py'), 'utf8').split('\n').findIndex((l) => l.includes('the NaN stop')) + 1;
      const frame = await topFrame(page, /train\.py/);
      await page.waitForTimeout(1500);
      // VS Code focuses the first frame with a source (torch's module.py) and shows the stop
      // there; the module frames (presentation "subtle") are folded: unfold them, then select
      // the program's own frame as a user would.
      report.details.programException = norm((await page.locator('.exception-widget').allInnerTexts()).join(' ')).slice(0, 300);
      const more = page.locator('.debug-call-stack .monaco-list-row', { hasText: /Show \d+ More Stack Frames/ }).first();
      if (await more.count()) { await more.click(); await page.waitForTimeout(800); }
      await page.locator('.debug-call-stack .monaco-list-row', { hasText: /train\.py/ }).first().click().catch(() => {});
      await page.waitForTimeout(1500);
      const rows = (await page.locator('.debug-call-stack .monaco-list-row').allInnerTexts()).map(norm);
      report.details.programCallStack = rows.slice(0, 12);
      report.details.programFrame = frame;
      report.details.programEditorLine = norm((await page.locator('.editor-instance .monaco-editor .view-line', { hasText: 'the NaN stop' }).allInnerTexts()).join(' '));
      await hidePanel(page);
      await shot(page, '16-program-nan');
      return report.details.nanFilterChecked && new RegExp(`train\\.py ${line}:`).test(frame) &&
        /NaN in output of 0 \(forward, step 2\)/.test(report.details.programException) &&
        /^0 \(Linear, exit\)/.test(rows[0]) && /^\(root\) \(Sequential\)/.test(rows[1]) && report.details.programEditorLine !== '';
    });

    // Model Layers while the program is paused: its live module table (the model and the
    // loss called on its own, two roots), then the backward action on module "2".
    await step('programLayers', async () => {
      await palette(page, 'Explorer: Focus on Model Layers View');
      await page.waitForTimeout(2000);
      const rows = (await layersPane(page).locator('.monaco-list-row').allInnerTexts()).map(norm);
      report.details.programLayers = rows;
      report.details.programLayersHeader = norm(await layersPane(page).locator('.pane-header').first().innerText());
      await shot(page, '17-program-layers');
      return /live: train\.py/.test(report.details.programLayersHeader) &&
        rows.length === 5 && /^Sequential$/.test(rows[0]) && /^0\s*Linear$/.test(rows[1]) && /^1\s*ReLU$/.test(rows[2]) &&
        /^2\s*Linear$/.test(rows[3]) && /^MSELoss$/.test(rows[4]);
    });

    await step('programBreakpoint', async () => {
      const bps = await breakpointFromLayers(page, /^2\s*Linear$/, '.action-label[aria-label="Break on This Module\'s Backward Pass"]');
      report.details.programBreakpoints = bps;
      await shot(page, '18-program-backward-breakpoint');
      return bps.some((b) => /^backward:2\b/.test(b));
    });
    await stopDebugging(page);

    // launch.json with `weights`: the random-weight checkpoint run.sh wrote into ckpt/ (its
    // expected.json holds numpy's figures of the embedding rows of the launch's tokens).
    await step('weights', async () => {
      const exp = JSON.parse(fs.readFileSync(path.join(a.folder, 'ckpt', 'expected.json'), 'utf8'));
      fs.mkdirSync(path.join(a.folder, '.vscode'), { recursive: true });
      fs.writeFileSync(path.join(a.folder, '.vscode', 'launch.json'), JSON.stringify({ version: '0.2.0', configurations: [{
        type: 'layerscope', request: 'launch', name: 'ckpt with weights', config: '${workspaceFolder}/ckpt/config.json',
        weights: '${workspaceFolder}/ckpt', tokens: exp.tokens }] }, null, 2));
      report.details.removedAllBeforeWeights = await removeAllBreakpoints(page);
      await page.waitForTimeout(800);
      await openFile(page, 'ckpt/config.json');
      await gotoLine(page, lineOf('ckpt/config.json', 'n_head'));
      await page.keyboard.press('F9');
      await page.waitForTimeout(400);
      await startDebugging(page, 'ckpt with weights');
      const top = await topFrame(page, /^transformer\.h\.0\.attn /);
      report.details.weightsStop = top;
      await palette(page, 'Debug: Focus on Debug Console View');
      await page.waitForTimeout(800);
      const got = {};
      for (const k of ['max', 'min', 'mean']) {
        await page.keyboard.type(`transformer.wte.${k}`);
        await page.keyboard.press('Enter');
        await page.waitForTimeout(1200);
        const rows = (await page.locator('.repl .monaco-list-row').allInnerTexts()).map(norm);
        const at = rows.lastIndexOf(`transformer.wte.${k}`);
        got[k] = at >= 0 && at + 1 < rows.length ? Number(rows[at + 1]) : NaN;
      }
      report.details.weightsRepl = got;
      report.details.weightsExpected = { max: exp.wte_max, min: exp.wte_min, mean: exp.wte_mean };
      await shot(page, '15-weights');
      const close = (x, y, rel) => Math.abs(x - y) <= rel * Math.abs(y);
      return new RegExp(`config\\.json ${lineOf('ckpt/config.json', 'n_head')}:`).test(top) && close(got.max, exp.wte_max, 1e-6) &&
        close(got.min, exp.wte_min, 1e-6) && close(got.mean, exp.wte_mean, 1e-4);
    });
    await stopDebugging(page);
  } catch (e) {
    report.errors.push('fatal: ' + (e && e.message));
    await shot(page, '99-fatal').catch(() => {});
  } finally {
    await browser.close();
  }
  report.required = required;
  report.ok = required.every((r) => report.checks[r] === true);
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  process.exit(report.ok ? 0 : 1);
})();
setTimeout(() => { console.log(JSON.stringify({ ok: false, errors: ['global timeout'], report })); process.exit(1); }, 540000).unref();
