/* programs.test.ts: debugging the user's PyTorch program, through the activated extension
 * with the vscode API mocked (vscode_mock.ts): the configuration providers debug.ts registers
 * (F5 without launch.json on a .py, the launch.json generator, the Run and Debug picker). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installMocks } from './vscode_mock';

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

test('deactivate', async () => {
  await ready;
  await ext.deactivate();
});
