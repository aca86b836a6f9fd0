// test_lsp_metamodel.js: the meta-model checker (lib/lsp_meta.js) itself must be able to
// fail: hand-written messages with one defect each (wrong enumeration value, missing
// required property, unknown property, wrong base type, bad or/literal/array/map/tuple
// members) are rejected, and their correct twins pass. Without this a checker that accepts
// everything would make every protocol test vacuous.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { meta } = require('./lib/harness');

const ids = new Map([[1, 'initialize'], [2, 'shutdown'], [3, 'textDocument/hover'], [4, 'textDocument/documentSymbol'], [5, 'textDocument/semanticTokens/full']]);
const check = (m) => meta.checkServerMessage(m, ids);
const INIT_OK = { jsonrpc: '2.0', id: 1, result: { capabilities: { positionEncoding: 'utf-16', textDocumentSync: { openClose: true, change: 2, save: { includeText: false } } }, serverInfo: { name: 'x', version: '1' } } };

test('correct messages pass', () => {
  assert.deepStrictEqual(check(INIT_OK), []);
  assert.deepStrictEqual(check({ jsonrpc: '2.0', id: 2, result: null }), []);
  assert.deepStrictEqual(check({ jsonrpc: '2.0', method: 'window/logMessage', params: { type: 3, message: 'hi' } }), []);
  assert.deepStrictEqual(check({ jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///a', diagnostics: [
    { range: { start: { line: 0, character: 1 }, end: { line: 0, character: 2 } }, message: 'm', severity: 1, code: 'LS001', data: { any: [1, 'x'] } }] } }), []);
  assert.deepStrictEqual(check({ jsonrpc: '2.0', id: 3, result: { contents: { kind: 'markdown', value: '**x**' } } }), []);
  assert.deepStrictEqual(check({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }), []);
  assert.deepStrictEqual(check({ jsonrpc: '2.0', id: 7, method: 'workspace/configuration', params: { items: [{ section: 'a' }] } }), []);
});

test('each defect is reported', () => {
  const bad = [
    [{ ...INIT_OK, result: { ...INIT_OK.result, capabilities: { positionEncoding: 7 } } }, /positionEncoding: expected string/],
    [{ ...INIT_OK, result: { capabilities: { textDocumentSync: { change: 5 } } } }, /matches none of .*enumeration TextDocumentSyncKind/],
    [{ ...INIT_OK, result: { serverInfo: { name: 'x' } } }, /missing required property 'capabilities'/],
    [{ ...INIT_OK, result: { capabilities: {}, extra: 1 } }, /unknown property 'extra'/],
    [{ ...INIT_OK, result: { capabilities: { hoverProvider: 'yes' } } }, /hoverProvider: matches none/],
    [{ jsonrpc: '2.0', id: 2, result: {} }, /expected null/],
    [{ jsonrpc: '2.0', method: 'window/logMessage', params: { type: 9, message: 'hi' } }, /enumeration MessageType/],
    [{ jsonrpc: '2.0', method: 'window/logMessage', params: { type: 3 } }, /missing required property 'message'/],
    [{ jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'no-scheme', diagnostics: [] } }, /not a URI/],
    [{ jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///a', diagnostics: [{ message: 'x' }] } }, /missing required property 'range'/],
    [{ jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///a', diagnostics: {} } }, /expected an array/],
    [{ jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///a', diagnostics: [], version: -1.5 } }, /expected integer/],
    [{ jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///a', diagnostics: [
      { range: { start: { line: -1, character: 0 }, end: { line: 0, character: 0 } }, message: 'm' }] } }, /expected uinteger/],
    [{ jsonrpc: '2.0', id: 3, result: { contents: { kind: 'html', value: 'x' } } }, /matches none/],
    [{ jsonrpc: '2.0', id: 4, result: [{ name: 'a', kind: 99, range: {}, selectionRange: {} }] }, /matches none/],
    [{ jsonrpc: '2.0', id: 5, result: { data: [1, 'x'] } }, /expected uinteger/],
    [{ jsonrpc: '2.0', method: 'textDocument/didOpen', params: {} }, /not sent by servers/],
    [{ jsonrpc: '2.0', method: 'no/suchThing' }, /unknown notification/],
    [{ jsonrpc: '1.0', id: 2, result: null }, /jsonrpc must be "2.0"/],
    [{ jsonrpc: '2.0', id: 2, result: null, error: { code: 1, message: 'x' } }, /exactly one of result and error/],
    [{ jsonrpc: '2.0', id: 2, error: { code: 'E', message: 'x' } }, /error.code must be an integer/],
    [{ jsonrpc: '2.0', id: 99, result: null }, /no request used/],
  ];
  for (const [msg, re] of bad) {
    const errs = check(msg);
    assert.ok(errs.length > 0, `accepted: ${JSON.stringify(msg)}`);
    assert.match(errs.join('\n'), re, JSON.stringify(msg));
  }
});
