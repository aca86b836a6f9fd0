/* Unit tests of launch.ts and binary.ts: how a launch configuration is completed (F5 with no
 * launch.json, missing config, conflicting inputs) and in which order the executable is found. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { resolveLaunch, DEFAULT_RANDOM_TOKENS } from '../src/launch';
import { resolveBinary } from '../src/binary';

test('F5 without launch.json debugs the active config.json', () => {
  const r = resolveLaunch({}, { activeFile: '/w/m/config.json', activeLanguage: 'json', workspaceFolder: '/w' });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.config, { type: 'layerscope', request: 'launch', name: 'layerscope: config.json',
    config: '/w/m/config.json', randomTokens: DEFAULT_RANDOM_TOKENS, seed: 0, cwd: '/w' });
});

test('F5 without launch.json and without a JSON file is refused with a message', () => {
  const r = resolveLaunch({}, { activeFile: '/w/a.py', activeLanguage: 'python' });
  assert.match(r.error ?? '', /open a model config\.json/);
  assert.match(resolveLaunch({}, {}).error ?? '', /open a model config\.json/);
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
  assert.match(resolveLaunch({ ...base, request: 'attach' }, {}).error ?? '', /use "launch"/);
  assert.match(resolveLaunch({ ...base, config: 7 }, {}).error ?? '', /must be a path/);
  assert.match(resolveLaunch({ type: 'layerscope', request: 'launch', name: 'x' }, {}).error ?? '', /no "config"/);
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
