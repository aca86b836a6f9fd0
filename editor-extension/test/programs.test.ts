/* programs.test.ts: debugging the user's PyTorch program, through the activated extension
 * with the vscode API mocked (vscode_mock.ts): the configuration providers debug.ts registers
 * (F5 without launch.json on a .py, the launch.json generator, the Run and Debug picker), the
 * Model Layers view fed by the adapter's `layerscopeModules` events of a layerscope session
 * (and back to the config's tree when it ends), and the breakpoint actions on a module. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FunctionBreakpoint, installMocks, SessionLike, TreeItem } from './vscode_mock';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerscope-prog-'));
const bin = path.join(dir, 'layerscope');
fs.writeFileSync(bin, '#!/bin/sh\nexit 0\n');
fs.chmodSync(bin, 0o755);
const mocks = installMocks(path.join(dir, 'extension'));
mocks.config.set('layerscope.path', bin);
// Required after the mocks are in place (an import would be hoisted above them).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const ext = require('../src/extension') as typeof import('../src/extension');
const ready = ext.activate(mocks.context as never);

function provider(trigger: number) {
  const p = mocks.configProviders.find((c) => c.type === 'layerscope' && c.trigger === trigger);
  assert.ok(p, `a layerscope configuration provider with trigger ${trigger}`);
  return p.provider;
}

test('F5 on a .py without launch.json: resolveDebugConfiguration yields the program configuration', async () => {
  await ready;
  mocks.workspaceFolder = '/work/proj';
  mocks.setActiveEditor('/work/proj/train.py', 'python');
  const r = await provider(1).resolveDebugConfiguration?.(undefined, {});
  assert.deepEqual(r, { type: 'layerscope', request: 'launch', name: 'layerscope: train.py',
    program: '/work/proj/train.py', cwd: '/work/proj' });
  // A config.json keeps the forward pass of the engine.
  mocks.setActiveEditor('/work/proj/config.json', 'json');
  const c = await provider(1).resolveDebugConfiguration?.(undefined, {}) as Record<string, unknown>;
  assert.equal(c.config, '/work/proj/config.json');
  assert.equal(c.program, undefined);
  // Another file: nothing starts.
  mocks.setActiveEditor('/work/proj/README.md', 'markdown');
  assert.equal(await provider(1).resolveDebugConfiguration?.(undefined, {}), undefined);
});

test('the launch.json generator and the Run and Debug picker offer the active .py', async () => {
  await ready;
  mocks.workspaceFolder = '/work/proj';
  mocks.setActiveEditor('/work/proj/train.py', 'python');
  const folder = { uri: { fsPath: '/work/proj' } };
  const initial = await provider(1).provideDebugConfigurations?.(folder) as Record<string, unknown>[];
  assert.deepEqual(initial[0], { type: 'layerscope', request: 'launch', name: 'layerscope: train.py',
    program: '${workspaceFolder}/train.py' });
  const picker = await provider(2).provideDebugConfigurations?.(folder) as Record<string, unknown>[];
  assert.deepEqual(picker, [{ type: 'layerscope', request: 'launch', name: 'layerscope: train.py',
    program: '/work/proj/train.py', cwd: '/work/proj' }]);
});

const session: SessionLike = { id: 'S1', type: 'layerscope', name: 'layerscope: train.py' };

function tree(): { labels: string[]; items: TreeItem[]; byLabel: Map<string, unknown> } {
  const p = mocks.treeView?.provider;
  assert.ok(p, 'the extension creates the Model Layers tree view');
  const labels: string[] = [], items: TreeItem[] = [], byLabel = new Map<string, unknown>();
  const walk = (els: unknown[], depth: number) => {
    for (const el of els) {
      const t = p.getTreeItem(el);
      labels.push(`${'  '.repeat(depth)}${t.label} ${t.description ?? ''}`.trimEnd());
      items.push(t);
      byLabel.set(t.label, el);
      walk(p.getChildren(el), depth + 1);
    }
  };
  walk(p.getChildren(), 0);
  return { labels, items, byLabel };
}

test('Model Layers shows the live module table of a program session, then falls back', async () => {
  await ready;
  mocks.setActiveEditor('/work/proj/train.py', 'python');
  assert.deepEqual(tree().labels, [], 'no config open, no session: empty');
  // Another debugger's events, and layerscope's other events, are not modules.
  await mocks.customEvent.fire({ session: { id: 'P', type: 'debugpy', name: 'py' }, event: 'layerscopeModules',
    body: { start: 0, modules: [{ name: '', type: 'X', parent: -1 }] } });
  await mocks.customEvent.fire({ session, event: 'somethingElse', body: {} });
  assert.deepEqual(tree().labels, []);

  await mocks.customEvent.fire({ session, event: 'layerscopeModules', body: { start: 0, modules: [
    { name: '', type: 'TinyNet', parent: -1 },
    { name: 'layers', type: 'ModuleList', parent: 0 },
    { name: 'layers.0', type: 'Linear', parent: 1 },
  ] } });
  // An appended chunk: a child of an earlier module, then a second root (the loss).
  await mocks.customEvent.fire({ session, event: 'layerscopeModules', body: { start: 3, modules: [
    { name: 'layers.1', type: 'Linear', parent: 1 },
    { name: 'MSELoss', type: 'MSELoss', parent: -1 },
  ] } });
  const t = tree();
  assert.deepEqual(t.labels, ['TinyNet', '  layers ModuleList', '    layers.0 Linear', '    layers.1 Linear', 'MSELoss']);
  assert.equal(mocks.treeView?.view.description, 'live: train.py');
  const item = t.items[2];
  assert.equal(item.contextValue, 'module', 'modules carry the breakpoint actions');
  assert.equal(t.items[0].contextValue, 'root');
  assert.equal(item.id, 'live:S1#2');
  assert.equal(t.items[4].contextValue, 'module', 'a second root has a name to break on');

  // A malformed chunk is logged and changes nothing.
  await mocks.customEvent.fire({ session, event: 'layerscopeModules', body: { start: 9, modules: [] } });
  assert.ok(mocks.logLines.some((l) => /\[layers\] layerscopeModules: start 9 is past the end/.test(l)));
  assert.equal(tree().labels.length, 5);

  // Another session in focus shows its own table; the first comes back when it has focus.
  const other: SessionLike = { id: 'S2', type: 'layerscope', name: 'eval run' };
  await mocks.customEvent.fire({ session: other, event: 'layerscopeModules',
    body: { start: 0, modules: [{ name: '', type: 'Evaluator', parent: -1 }] } });
  mocks.activeDebugSession = session;
  await mocks.activeSessionChanged.fire(session);
  assert.equal(tree().labels[0], 'TinyNet');
  mocks.activeDebugSession = other;
  await mocks.activeSessionChanged.fire(other);
  assert.deepEqual(tree().labels, ['Evaluator']);
  assert.equal(mocks.treeView?.view.description, 'live: eval run');

  // Sessions end: their tables go, and the view is the config's (none here) again.
  mocks.activeDebugSession = undefined;
  await mocks.sessionTerminated.fire(other);
  assert.equal(tree().labels[0], 'TinyNet');
  await mocks.sessionTerminated.fire(session);
  assert.deepEqual(tree().labels, []);
  assert.equal(mocks.treeView?.view.description, undefined);
});

test('breakpoints from a module: forward is its name, backward is "backward:NAME", never twice', async () => {
  await ready;
  await mocks.customEvent.fire({ session, event: 'layerscopeModules', body: { start: 0, modules: [
    { name: '', type: 'TinyNet', parent: -1 },
    { name: 'encoder', type: 'Sequential', parent: 0 },
    { name: 'encoder.0', type: 'Linear', parent: 1 },
  ] } });
  const node = tree().byLabel.get('encoder.0');
  const forward = mocks.commands.get('layerscope.addModuleBreakpoint');
  const backward = mocks.commands.get('layerscope.addModuleBackwardBreakpoint');
  assert.ok(forward && backward, 'both actions are registered commands');
  mocks.breakpoints.length = 0;
  forward(node);
  backward(node);
  forward(node);
  backward(node);
  const names = () => mocks.breakpoints.map((b) => {
    assert.ok(b instanceof FunctionBreakpoint, 'a vscode.FunctionBreakpoint');
    return b.functionName;
  });
  assert.deepEqual(names(), ['encoder.0', 'backward:encoder.0']);
  // "both:" already stops in both passes: nothing is added for either.
  mocks.breakpoints.length = 0;
  mocks.breakpoints.push(new FunctionBreakpoint('both:encoder'));
  forward(tree().byLabel.get('encoder'));
  backward(tree().byLabel.get('encoder'));
  assert.deepEqual(names(), ['both:encoder']);
  // The root ("") has no name to break on: a warning, no breakpoint.
  forward(tree().byLabel.get('TinyNet'));
  assert.deepEqual(names(), ['both:encoder']);
  await mocks.sessionTerminated.fire(session);
  await ext.deactivate();
});
