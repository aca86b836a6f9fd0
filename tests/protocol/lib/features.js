// features.js: helpers of the language-feature tests (test_lsp_features*.js): a session
// that answers workspace/configuration from a settings object the test can change and
// records every publishDiagnostics, and an independent position calculator (JavaScript
// string indices are UTF-16 code units; UTF-8 columns come from Buffer.byteLength) that
// turns a needle in the text into the LSP range the server must report.
'use strict';
const assert = require('node:assert');
const h = require('./harness');
const { lsp } = h;

async function start(caps = null, { encodings = null, settings = {}, pull = true } = {}) {
  const s = h.startLsp();
  s.settings = settings;
  s.published = [];
  s.waiters = [];
  s.conn.onRequest(lsp.ConfigurationRequest.type, (p) => p.items.map(() => s.settings));
  s.conn.onNotification(lsp.PublishDiagnosticsNotification.type, (p) => {
    s.published.push(p);
    s.waiters = s.waiters.filter((w) => !w(p));
  });
  const capabilities = caps || { ...h.BASE_CAPS };
  if (!pull) capabilities.workspace = { ...(capabilities.workspace || {}), configuration: false };
  if (encodings) capabilities.general = { positionEncodings: encodings };
  const init = await h.withTimeout(s.conn.sendRequest(lsp.InitializeRequest.type,
    { processId: process.pid, rootUri: null, capabilities }), 10000, 'initialize');
  s.init = init;
  await s.conn.sendNotification(lsp.InitializedNotification.type, {});
  return s;
}

// The first publishDiagnostics for uri (already received or future) that satisfies pred.
function waitDiag(s, uri, pred = () => true, ms = 10000) {
  const hit = s.published.find((p) => p.uri === uri && pred(p));
  if (hit) return Promise.resolve(hit);
  return h.withTimeout(new Promise((res) => s.waiters.push((p) => (p.uri === uri && pred(p) ? (res(p), true) : false))),
    ms, `diagnostics for ${uri}`);
}

function open(s, uri, text, version = 1) {
  s.conn.sendNotification(lsp.DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'json', version, text } });
  return waitDiag(s, uri, (p) => p.version === version);
}

function collect(s, uri) {
  const out = [];
  s.conn.onNotification(lsp.PublishDiagnosticsNotification.type, (p) => {
    s.published.push(p);
    s.waiters = s.waiters.filter((w) => !w(p));
    if (p.uri === uri) out.push(p);
  });
  return out;
}

// Position of byte-independent string index i of text, in 'utf-16' or 'utf-8' columns.
function posOf(text, i, enc = 'utf-16') {
  let line = 0, start = 0;
  for (let k = 0; k < i; k++) {
    const c = text[k];
    if (c === '\n' || (c === '\r' && text[k + 1] !== '\n')) { line++; start = k + 1; }
  }
  const col = text.slice(start, i);
  return { line, character: enc === 'utf-8' ? Buffer.byteLength(col, 'utf8') : col.length };
}

function rangeOf(text, needle, enc = 'utf-16', from = 0) {
  const i = text.indexOf(needle, from);
  assert.ok(i >= 0, `'${needle}' not in the text`);
  return { start: posOf(text, i, enc), end: posOf(text, i + needle.length, enc) };
}

async function finish(s) {
  assert.strictEqual(await s.conn.sendRequest(lsp.ShutdownRequest.type), null);
  await s.conn.sendNotification(lsp.ExitNotification.type);
  const ex = await h.withTimeout(s.proc.exitP, 10000, 'exit');
  s.conn.dispose();
  assert.deepStrictEqual(s.checker.errors, [], 'schema/protocol problems');
  assert.deepStrictEqual(s.checker.unanswered(), [], 'requests without a response');
  assert.strictEqual(ex.code, 0, `exit status (stderr: ${s.proc.stderrText.slice(-800)})`);
}

module.exports = { start, waitDiag, open, collect, posOf, rangeOf, finish };
