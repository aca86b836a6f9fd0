// run.js: latency of `layerscope lsp` next to the npm JSON language server
// (vscode-json-languageserver) on the same 200-line config, driven by the same scripted
// client (vscode-jsonrpc over stdio, as an editor would):
//   hover        round trip of textDocument/hover on every key of the file in turn
//                (p50 / p99 over --hovers requests, after a warm-up)
//   diagnostics  time from sending textDocument/didChange (one value edited, full text) to
//                receiving the publishDiagnostics of that edit (sequential, --edits edits)
// Usage: node run.js [--bin build/release/cli/layerscope] [--hovers 2000] [--edits 200]
//                    [--json out.json]
// The JSON server debounces validation by design (a fixed delay after each change); the
// figure is what a user of that server waits, which is the comparison the issue asks for.
'use strict';
const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const rpc = require('vscode-jsonrpc/node');

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.resolve(opt('--bin', process.env.LAYERSCOPE || path.join(ROOT, 'build', 'release', 'cli', 'layerscope')));
const HOVERS = Number(opt('--hovers', 2000));
const EDITS = Number(opt('--edits', 200));
const FILE = path.join(__dirname, 'config-200.json');
const TEXT = fs.readFileSync(FILE, 'utf8');
const URI = 'file://' + FILE;
const SCHEMA = JSON.parse(fs.readFileSync(path.join(__dirname, 'schema.json'), 'utf8'));

function pct(xs, p) { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; }
const now = () => Number(process.hrtime.bigint()) / 1e6;

// Positions of every key of the file (inside the key, after its opening quote).
function keyPositions(text) {
  const out = [];
  text.split('\n').forEach((l, line) => { const m = /^\s*"/.exec(l); if (m && /":/.test(l)) out.push({ line, character: m[0].length + 1 }); });
  return out;
}

async function session(name, cmd, cmdArgs) {
  const proc = cp.spawn(cmd, cmdArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(proc.stdout), new rpc.StreamMessageWriter(proc.stdin));
  const waiters = [];
  conn.onNotification('textDocument/publishDiagnostics', (p) => {
    for (let i = 0; i < waiters.length; i++) if (waiters[i](p)) { waiters.splice(i, 1); break; }
  });
  conn.onRequest('workspace/configuration', (p) => p.items.map(() => ({})));
  conn.onRequest('client/registerCapability', () => null);
  conn.onNotification(() => {});
  conn.listen();
  const nextDiag = (pred) => new Promise((res) => waiters.push((p) => (p.uri === URI && pred(p) ? (res(p), true) : false)));
  await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {
    textDocument: { hover: { contentFormat: ['markdown', 'plaintext'] }, publishDiagnostics: { versionSupport: true } },
    workspace: { configuration: true } }, initializationOptions: { provideFormatter: false } });
  conn.sendNotification('initialized', {});
  // The JSON server gets a schema with a description per key (bench/lsp/schema.json), so
  // that its hovers have content to show and its validation has something to check.
  if (name !== 'layerscope') conn.sendNotification('workspace/didChangeConfiguration', { settings: { json: {
    validate: { enable: true }, schemas: [{ fileMatch: ['config-200.json'], schema: SCHEMA }] } } });
  const first = nextDiag(() => true);
  conn.sendNotification('textDocument/didOpen', { textDocument: { uri: URI, languageId: 'json', version: 1, text: TEXT } });
  await first;

  const keys = keyPositions(TEXT);
  for (let i = 0; i < 200; i++) await conn.sendRequest('textDocument/hover', { textDocument: { uri: URI }, position: keys[i % keys.length] });
  const hov = [];
  let nonNull = 0;
  for (let i = 0; i < HOVERS; i++) {
    const t0 = now();
    const r = await conn.sendRequest('textDocument/hover', { textDocument: { uri: URI }, position: keys[i % keys.length] });
    hov.push(now() - t0);
    if (r) nonNull++;
  }
  const diag = [];
  for (let v = 2; v < EDITS + 2; v++) {
    const text = TEXT.replace('"vocab_size": 32000', `"vocab_size": ${32000 + (v % 2) * 64}`).replace('"rope_theta": 10000.0', `"rope_theta": ${10000 + v}.0`);
    const got = nextDiag((p) => p.version === undefined || p.version === v);
    const t0 = now();
    conn.sendNotification('textDocument/didChange', { textDocument: { uri: URI, version: v }, contentChanges: [{ text }] });
    await got;
    diag.push(now() - t0);
  }
  await conn.sendRequest('shutdown');
  conn.sendNotification('exit');
  setTimeout(() => proc.kill(), 500).unref();
  return { name, hover_p50_ms: pct(hov, 50), hover_p99_ms: pct(hov, 99), hover_answered: `${nonNull}/${HOVERS}`,
    diag_p50_ms: pct(diag, 50), diag_p99_ms: pct(diag, 99) };
}

(async () => {
  const ls = await session('layerscope', BIN, ['lsp']);
  const jsonBin = path.join(__dirname, 'node_modules', 'vscode-json-languageserver', 'bin', 'vscode-json-languageserver');
  const js = await session('vscode-json-languageserver', process.execPath, [jsonBin, '--stdio']);
  const f = (x) => x.toFixed(3);
  console.log(`config: ${path.relative(ROOT, FILE)} (${TEXT.split('\n').length - 1} lines); ${HOVERS} hovers, ${EDITS} edits`);
  console.log(`${'server'.padEnd(28)} ${'hover p50'.padStart(10)} ${'hover p99'.padStart(10)} ${'diag p50'.padStart(10)} ${'diag p99'.padStart(10)}  answered`);
  for (const r of [ls, js])
    console.log(`${r.name.padEnd(28)} ${f(r.hover_p50_ms).padStart(10)} ${f(r.hover_p99_ms).padStart(10)} ${f(r.diag_p50_ms).padStart(10)} ${f(r.diag_p99_ms).padStart(10)}  ${r.hover_answered}`);
  const ratio = { hover_p99: js.hover_p99_ms / ls.hover_p99_ms, diag_p50: js.diag_p50_ms / ls.diag_p50_ms };
  console.log(`ratio (json server / layerscope): hover p99 ${ratio.hover_p99.toFixed(1)}x, diagnostics p50 ${ratio.diag_p50.toFixed(1)}x (ms)`);
  const ok = ls.hover_p99_ms < 2 && ls.diag_p99_ms < 10;
  console.log(`targets (hover p99 < 2 ms, diagnostics < 10 ms): ${ok ? 'met' : 'NOT met'}`);
  const out = opt('--json', null);
  if (out) fs.writeFileSync(out, JSON.stringify({ layerscope: ls, json_languageserver: js, ratio }, null, 2) + '\n');
  process.exit(ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
