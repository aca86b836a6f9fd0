/* extension.test.ts: the extension activated in node with the vscode API mocked
 * (vscode_mock.ts): a change of `layerscope.path` restarts the language server with the new
 * executable, also when it comes while a server is still starting or right after another
 * change, leaving exactly one server running, and the next debug session starts the new
 * executable; a debug session that ends normally (disconnect, or the adapter's terminated
 * event) logs no adapter error, while an adapter that dies in the middle of a session does. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FakeLanguageClient, installMocks } from './vscode_mock';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerscope-ext-'));
function executable(name: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, '#!/bin/sh\nexit 0\n');
  fs.chmodSync(p, 0o755);
  return p;
}
const A = executable('layerscope-a'), B = executable('layerscope-b'), C = executable('layerscope-c'), D = executable('layerscope-d');

const mocks = installMocks(path.join(dir, 'extension'));
mocks.config.set('layerscope.path', A);
// Required after the mocks are in place (an import would be hoisted above them).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const ext = require('../src/extension') as typeof import('../src/extension');

const live = () => FakeLanguageClient.all.filter((c) => c.state === 'starting' || c.state === 'running');
const settle = () => new Promise((r) => setTimeout(r, 10 * FakeLanguageClient.startMs));
const adapterCommand = () => mocks.adapterFactory?.createDebugAdapterDescriptor({ id: 'x', type: 'layerscope' }).command;

test('layerscope.path: every change restarts the language server with the new executable; one server runs', async () => {
  // A change while the first server is still starting (settings applied during activation).
  const activation = ext.activate(mocks.context as never);
  await new Promise((r) => setTimeout(r, FakeLanguageClient.startMs / 3));
  assert.equal(FakeLanguageClient.all[0]?.state, 'starting');
  await mocks.setConfig({ 'layerscope.path': B });
  await activation;
  await settle();
  assert.deepEqual(live().map((c) => [c.command, c.state]), [[B, 'running']]);
  assert.equal(FakeLanguageClient.all[0].state, 'stopped', 'the first server is stopped, not left running');
  assert.equal(adapterCommand(), B, 'the next debug session starts the new executable');

  // A change when the server is running.
  await mocks.setConfig({ 'layerscope.path': C });
  await settle();
  assert.deepEqual(live().map((c) => [c.command, c.state]), [[C, 'running']]);
  assert.equal(adapterCommand(), C);

  // Two changes in a row, the second before the restart for the first has finished.
  const first = mocks.setConfig({ 'layerscope.path': D });
  await mocks.setConfig({ 'layerscope.path': A });
  await first;
  await settle();
  assert.deepEqual(live().map((c) => [c.command, c.state]), [[A, 'running']]);
  assert.equal(adapterCommand(), A);
  assert.ok(FakeLanguageClient.all.every((c) => c.state === 'running' || c.state === 'stopped' || c.state === 'initial'),
    JSON.stringify(FakeLanguageClient.all.map((c) => [c.command, c.state])));

  // Other layerscope settings do not restart anything.
  const n = FakeLanguageClient.all.length;
  await mocks.setConfig({ 'layerscope.batch': 4 });
  await settle();
  assert.equal(FakeLanguageClient.all.length, n);
  await ext.deactivate();
});

function tracker() {
  const t = mocks.trackerFactory?.createDebugAdapterTracker({ id: `s${Math.random()}`, name: 'layerscope: config.json', type: 'layerscope' });
  assert.ok(t, 'the extension registers a debug adapter tracker');
  return t;
}

const errorLines = () => mocks.logLines.filter((l) => /adapter error|adapter exited/.test(l));

test('a debug session that ends normally logs no adapter error', () => {
  mocks.logLines.length = 0;
  // The user stops the session: disconnect, the adapter exits 0, VS Code reports its closed
  // output stream as a 'read error'.
  const t = tracker();
  t.onWillStartSession?.();
  t.onWillReceiveMessage?.({ type: 'request', command: 'disconnect', seq: 9, arguments: { restart: false } });
  t.onDidSendMessage?.({ type: 'response', command: 'disconnect', request_seq: 9, success: true });
  t.onWillStopSession?.();
  t.onError?.(new Error('read error'));
  t.onExit?.(0, undefined);
  // The forward pass ends by itself: terminated, then the same end of the process.
  const u = tracker();
  u.onWillStartSession?.();
  u.onDidSendMessage?.({ type: 'event', event: 'terminated' });
  u.onError?.(new Error('read error'));
  u.onExit?.(0, undefined);
  assert.deepEqual(errorLines(), []);
});

test('an adapter that dies in the middle of a session is reported', () => {
  mocks.logLines.length = 0;
  const t = tracker();
  t.onWillStartSession?.();
  t.onDidSendMessage?.({ type: 'event', event: 'stopped', body: { reason: 'breakpoint' } });
  t.onError?.(new Error('read error'));
  t.onExit?.(134, undefined);
  const lines = errorLines();
  assert.ok(lines.some((l) => /adapter error: read error/.test(l)), JSON.stringify(lines));
  assert.ok(lines.some((l) => /exited with status 134/.test(l)), JSON.stringify(lines));
});
