/* Unit tests of launch.ts and binary.ts: how a launch configuration is completed (F5 with no
 * launch.json on a config.json or a PyTorch program, missing config, conflicting inputs,
 * attach) and in which order the executable is found. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { initialConfigurations, pickerConfigurations, resolveLaunch, DEFAULT_RANDOM_TOKENS } from '../src/launch';
import { resolveBinary } from '../src/binary';

test('F5 without launch.json debugs the active config.json', () => {
  const r = resolveLaunch({}, { activeFile: '/w/m/config.json', activeLanguage: 'json', workspaceFolder: '/w' });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.config, { type: 'layerscope', request: 'launch', name: 'layerscope: config.json',
    config: '/w/m/config.json', randomTokens: DEFAULT_RANDOM_TOKENS, seed: 0, cwd: '/w' });
});

test('F5 without launch.json and without a JSON or Python file is refused with a message', () => {
  const r = resolveLaunch({}, { activeFile: '/w/notes.txt', activeLanguage: 'plaintext' });
  assert.match(r.error ?? '', /open a model config\.json or a PyTorch program/);
  assert.match(resolveLaunch({}, {}).error ?? '', /open a model config\.json/);
});

test('F5 without launch.json on a Python file debugs that program', () => {
  const r = resolveLaunch({}, { activeFile: '/w/src/train.py', activeLanguage: 'python', workspaceFolder: '/w' });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.config, { type: 'layerscope', request: 'launch', name: 'layerscope: train.py',
    program: '/w/src/train.py', cwd: '/w' });
  // No random tokens, no config: those are the engine target's.
  // Outside any workspace folder the program runs in its own directory.
  assert.equal(resolveLaunch({}, { activeFile: '/tmp/x/t.py', activeLanguage: 'python' }).config?.cwd, '/tmp/x');
  // The language decides, and a .py extension without a language id too.
  assert.equal(resolveLaunch({}, { activeFile: '/w/run', activeLanguage: 'python' }).config?.program, '/w/run');
  assert.equal(resolveLaunch({}, { activeFile: '/w/t.py' }).config?.program, '/w/t.py');
});

test('a launch without config, program or module takes the active Python file as program', () => {
  const r = resolveLaunch({ type: 'layerscope', request: 'launch', name: 'x', args: ['--lr', '1'], env: { A: '1' } },
    { activeFile: '/w/t.py', activeLanguage: 'python', workspaceFolder: '/w' });
  assert.deepEqual(r.config, { type: 'layerscope', request: 'launch', name: 'x', args: ['--lr', '1'], env: { A: '1' },
    program: '/w/t.py', cwd: '/w' });
  // program given: kept, no random tokens added, no config required
  const m = resolveLaunch({ type: 'layerscope', request: 'launch', name: 'm', module: 'pkg.train', python: '/venv/bin/python' },
    { activeFile: '/w/c.json', activeLanguage: 'json' });
  assert.deepEqual(m.config, { type: 'layerscope', request: 'launch', name: 'm', module: 'pkg.train', python: '/venv/bin/python' });
});

test('program arguments the adapter would refuse are caught first', () => {
  const base = { type: 'layerscope', request: 'launch', name: 'x', program: '/w/t.py' };
  assert.match(resolveLaunch({ ...base, module: 'm' }, {}).error ?? '', /either "program".*or "module"/);
  assert.match(resolveLaunch({ ...base, program: 3 }, {}).error ?? '', /"program" must be a non-empty string/);
  assert.match(resolveLaunch({ ...base, args: '--lr 1' }, {}).error ?? '', /"args" must be an array of strings/);
  assert.match(resolveLaunch({ ...base, args: ['a', 2] }, {}).error ?? '', /"args" must be an array of strings/);
  assert.match(resolveLaunch({ ...base, env: ['A=1'] }, {}).error ?? '', /"env" must be an object/);
  assert.match(resolveLaunch({ ...base, env: { A: 1 } }, {}).error ?? '', /"env\.A" must be a string/);
  assert.match(resolveLaunch({ ...base, python: '' }, {}).error ?? '', /"python" must be a non-empty string/);
  assert.match(resolveLaunch({ ...base, connect: '/s' }, {}).error ?? '', /"connect" belongs to an attach/);
});

test('attach takes connect and nothing of launch', () => {
  const ok = resolveLaunch({ type: 'layerscope', request: 'attach', name: 'a', connect: '/tmp/ls-1/agent.sock' },
    { activeFile: '/w/t.py', activeLanguage: 'python', workspaceFolder: '/w' });
  assert.deepEqual(ok.config, { type: 'layerscope', request: 'attach', name: 'a', connect: '/tmp/ls-1/agent.sock' });
  assert.match(resolveLaunch({ type: 'layerscope', request: 'attach', name: 'a' }, {}).error ?? '', /attach needs "connect"/);
  assert.match(resolveLaunch({ type: 'layerscope', request: 'attach', name: 'a', connect: '/s', program: '/t.py' }, {}).error ?? '',
    /belong to a launch/);
});

test('launch.json generator and picker: the active Python file comes first', () => {
  const ctx = { activeFile: '/w/src/train.py', activeLanguage: 'python', workspaceFolder: '/w' };
  const init = initialConfigurations(ctx);
  assert.deepEqual(init[0], { type: 'layerscope', request: 'launch', name: 'layerscope: train.py',
    program: '${workspaceFolder}/src/train.py' });
  assert.equal(init[1].config, '${workspaceFolder}/config.json');
  assert.equal(initialConfigurations({ activeFile: '/elsewhere/t.py', activeLanguage: 'python', workspaceFolder: '/w' })[0].program,
    '/elsewhere/t.py');
  assert.deepEqual(initialConfigurations({}).map((c) => c.name), ['layerscope: debug forward pass']);
  assert.deepEqual(pickerConfigurations(ctx), [{ type: 'layerscope', request: 'launch', name: 'layerscope: train.py',
    program: '/w/src/train.py', cwd: '/w' }]);
  assert.equal(pickerConfigurations({ activeFile: '/w/config.json', activeLanguage: 'json' })[0].config, '/w/config.json');
  assert.deepEqual(pickerConfigurations({ activeFile: '/w/a.txt', activeLanguage: 'plaintext' }), []);
});

test('a configuration without config takes the active file; given values are kept', () => {
  const r = resolveLaunch({ type: 'layerscope', request: 'launch', name: 'x', tokens: [1, 2], stopOnEntry: true },
    { activeFile: '/w/c.json', activeLanguage: 'json' });
  assert.equal(r.config?.config, '/w/c.json');
  assert.deepEqual(r.config?.tokens, [1, 2]);
  assert.equal(r.config?.randomTokens, undefined);
  assert.equal(r.config?.stopOnEntry, true);
  const r2 = resolveLaunch({ type: 'layerscope', request: 'launch', name: 'x', config: '/a/config.json', cwd: '/a' },
    { activeFile: '/w/c.json', activeLanguage: 'json', workspaceFolder: '/w' });
  assert.equal(r2.config?.config, '/a/config.json');
  assert.equal(r2.config?.cwd, '/a');
});

test('bad inputs are caught before the adapter starts', () => {
  const base = { type: 'layerscope', request: 'launch', name: 'x', config: '/c.json' };
  assert.match(resolveLaunch({ ...base, tokens: [1], randomTokens: 3 }, {}).error ?? '', /either "tokens" or "randomTokens"/);
  assert.match(resolveLaunch({ ...base, tokens: [1, -2] }, {}).error ?? '', /tokens\[1\]/);
  assert.match(resolveLaunch({ ...base, tokens: [1.5] }, {}).error ?? '', /tokens\[0\]/);
  assert.match(resolveLaunch({ ...base, tokens: [] }, {}).error ?? '', /non-empty/);
  assert.match(resolveLaunch({ ...base, randomTokens: 0 }, {}).error ?? '', /randomTokens/);
  assert.match(resolveLaunch({ ...base, request: 'attach' }, {}).error ?? '', /attach needs "connect"/);
  assert.match(resolveLaunch({ ...base, request: 'restart' }, {}).error ?? '', /use "launch"/);
  assert.match(resolveLaunch({ ...base, config: 7 }, {}).error ?? '', /must be a path/);
  assert.match(resolveLaunch({ type: 'layerscope', request: 'launch', name: 'x' }, {}).error ?? '', /no "config"/);
  assert.match(resolveLaunch({ ...base, model: '/m' }, {}).error ?? '', /either "model"/);
  assert.match(resolveLaunch({ ...base, prompt: 'Hi', tokens: [1] }, {}).error ?? '', /one of "prompt"/);
  assert.match(resolveLaunch({ ...base, prompt: '' }, {}).error ?? '', /"prompt" must be a non-empty string/);
});

test('a prompt is passed on without random tokens (the adapter encodes it)', () => {
  const r = resolveLaunch({ type: 'layerscope', request: 'launch', name: 'x', model: '/m', prompt: 'The capital of' }, {});
  assert.equal(r.error, undefined);
  assert.equal(r.config?.prompt, 'The capital of');
  assert.equal(r.config?.randomTokens, undefined);
});

test('a model directory needs no config (the adapter finds config.json and the weights)', () => {
  const r = resolveLaunch({ type: 'layerscope', request: 'launch', name: 'x', model: '/w/llama', generate: 4 },
    { activeFile: '/w/c.json', activeLanguage: 'json' });
  assert.equal(r.error, undefined);
  assert.equal(r.config?.model, '/w/llama');
  assert.equal(r.config?.config, undefined);
});

test('executable: setting, then PATH, then the bundled bin/', () => {
  const have = new Set(['/opt/ls', '/usr/local/bin/layerscope', '/ext/bin/layerscope']);
  const isX = (p: string) => have.has(p);
  const P = ['/nope', '/usr/local/bin'].join(path.delimiter);
  assert.deepEqual(resolveBinary('/opt/ls', P, '/ext', isX), { path: '/opt/ls', source: 'setting' });
  assert.match(resolveBinary('/missing', P, '/ext', isX).error ?? '', /not an executable/);
  assert.deepEqual(resolveBinary('', P, '/ext', isX), { path: '/usr/local/bin/layerscope', source: 'PATH' });
  assert.deepEqual(resolveBinary(undefined, '/nope', '/ext', isX), { path: '/ext/bin/layerscope', source: 'bundled' });
  assert.match(resolveBinary('', '', '/other', isX).error ?? '', /not found/);
});
