#!/usr/bin/env node
/* e2e.js: drives VS Code (code-server) in headless Debian Chromium with playwright-core the
 * way a user would, after run.sh installed the layerscope VSIX: open config.json, hover a key
 * and read the shapes, open Problems and see the smell, apply its quick fix, look at the
 * Model Layers view and add a module breakpoint from it, open the Model Summary webview,
 * then F5 (no launch.json: the extension's configuration provider fills in the active
 * config.json), wait for the pause, read Call Stack and Variables and open the histogram
 * webview. Every step is recorded in one JSON report with a screenshot under --out.
 * Usage: node e2e.js --url http://127.0.0.1:PORT --folder /abs/ws --out DIR --require a,b,c
 * Exit 0 when every required check passed, 1 otherwise. */
'use strict';
const { chromium } = require('playwright-core');
const path = require('path');

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
      const row = layersPane(page).locator('.monaco-list-row', { hasText: 'lm_head' }).first();
      await row.hover();
      await page.waitForTimeout(300);
      await row.locator('.action-label').first().click();
      await page.waitForTimeout(800);
      await palette(page, 'View: Show Run and Debug');
      await page.waitForTimeout(1500);
      const bps = (await page.locator('.debug-breakpoints .monaco-list-row').allInnerTexts()).map(norm);
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
    await page.keyboard.press('Shift+F5').catch(() => {});
    await page.waitForTimeout(1000);
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
setTimeout(() => { console.log(JSON.stringify({ ok: false, errors: ['global timeout'], report })); process.exit(1); }, 420000).unref();
