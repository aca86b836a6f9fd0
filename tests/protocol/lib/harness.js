// harness.js: shared set-up of the protocol tests. Starts the built executable
// ($LAYERSCOPE) and talks to it through real client libraries — vscode-jsonrpc /
// vscode-languageserver-protocol for LSP, @vscode/debugadapter-testsupport for DAP — and
// through a raw byte pipe for malformed input. Every message the executable sends is checked:
// LSP against the meta-model (lsp_meta.js), DAP against debugAdapterProtocol.json with ajv,
// plus the rules neither schema states (exactly one response per request, DAP seq order).
'use strict';
const cp = require('child_process');
const path = require('path');
const fs = require('fs');
const lsp = require('vscode-languageserver-protocol/node');
const { DebugClient } = require('@vscode/debugadapter-testsupport');
const Ajv = require('ajv-draft-04');
const { MetaModel } = require('./lsp_meta');

const FIXTURES = path.join(__dirname, '..', 'fixtures');
// The official schemas, with their attribution: tests/fixtures/protocol/README.md.
const SCHEMAS = path.join(__dirname, '..', '..', 'fixtures', 'protocol');
const BIN = process.env.LAYERSCOPE;
if (!BIN || !fs.existsSync(BIN)) {
  console.error('LAYERSCOPE must name the built layerscope executable');
  process.exit(2);
}
const SANITIZE = process.env.LS_SANITIZE === '1';
const meta = new MetaModel(path.join(SCHEMAS, 'lsp-metaModel.json'));

// Servers still running when a test file ends (a failed test) are killed, so a failure never
// turns into a hang.
const children = new Set();
// A test file that hangs (a response that never comes) fails instead of waiting for CTest.
// A file whose tests run real programs for minutes sets a longer limit with watchdog(s).
let watchdogTimer = null;
function watchdog(seconds) {
  if (watchdogTimer) clearTimeout(watchdogTimer);
  watchdogTimer = setTimeout(() => {
    console.error(`# protocol test watchdog: no result after ${seconds} s; failing`);
    for (const p of children) p.kill('SIGKILL');
    process.exit(1);
  }, seconds * 1000).unref();
}
watchdog(120);
require('node:test').after(() => { for (const p of children) p.kill('SIGKILL'); });

function spawn(args, env = {}) {
  const p = cp.spawn(BIN, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  p.stderrText = '';
  p.stderr.on('data', (d) => { if (p.stderrText.length < 200000) p.stderrText += d; });
  children.add(p);
  p.exitP = new Promise((res) => p.on('exit', (code, signal) => { children.delete(p); res({ code, signal }); }));
  p.stdin.on('error', () => {}); // EPIPE when the server exits first is fine
  return p;
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([promise.finally(() => clearTimeout(t)),
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms); })]);
}

// Records what the client sent and checks what the server sent (LSP).
class LspChecker {
  constructor() { this.methodOfId = new Map(); this.answered = new Set(); this.errors = []; this.received = []; }
  fromClient(msg) { if (msg.method && 'id' in msg) this.methodOfId.set(msg.id, msg.method); }
  fromServer(msg) {
    this.received.push(msg);
    const errs = meta.checkServerMessage(msg, this.methodOfId);
    if (!('method' in msg) && 'id' in msg && msg.id !== null) {
      if (this.answered.has(msg.id)) errs.push(`second response for id ${JSON.stringify(msg.id)}`);
      this.answered.add(msg.id);
    }
    for (const e of errs) this.errors.push(`${msg.method || 'response ' + JSON.stringify(msg.id)}: ${e}`);
  }
  // Requests that never got their response.
  unanswered() { return [...this.methodOfId.keys()].filter((id) => !this.answered.has(id)); }
}

// An LSP session over the real vscode-jsonrpc connection.
function startLsp({ args = ['lsp'], env = {} } = {}) {
  const proc = spawn(args, env);
  const checker = new LspChecker();
  class Reader extends lsp.StreamMessageReader {
    listen(cb) { return super.listen((m) => { checker.fromServer(m); cb(m); }); }
  }
  class Writer extends lsp.StreamMessageWriter {
    write(m) { checker.fromClient(m); return super.write(m); }
  }
  const conn = lsp.createProtocolConnection(new Reader(proc.stdout), new Writer(proc.stdin));
  conn.onError(() => {});
  conn.listen();
  return { proc, conn, checker };
}

const BASE_CAPS = { textDocument: { synchronization: { didSave: true } }, workspace: { configuration: true } };

async function initialize(s, extra = {}) {
  return withTimeout(s.conn.sendRequest(lsp.InitializeRequest.type,
    { processId: process.pid, rootUri: null, capabilities: BASE_CAPS, ...extra }), 10000, 'initialize');
}

// ---- raw byte access (malformed input) -----------------------------------------------------
function frame(obj) {
  const body = Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

// Parses the server's output strictly (exact header form) and feeds the checker.
class RawSession {
  constructor(args = ['lsp'], env = {}, checker = new LspChecker()) {
    this.proc = spawn(args, env);
    this.checker = checker;
    this.buf = Buffer.alloc(0);
    this.msgs = [];
    this.waiters = [];
    this.framingErrors = [];
    this.proc.stdout.on('data', (d) => this._data(d));
  }
  _data(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /^Content-Length: (\d+)$/.exec(this.buf.slice(0, end).toString('ascii'));
      if (!m) { this.framingErrors.push(this.buf.slice(0, end).toString()); this.buf = this.buf.slice(end + 4); continue; }
      const n = Number(m[1]);
      if (this.buf.length < end + 4 + n) return;
      const body = this.buf.slice(end + 4, end + 4 + n).toString('utf8');
      this.buf = this.buf.slice(end + 4 + n);
      let msg;
      try { msg = JSON.parse(body); } catch (e) { this.framingErrors.push('unparsable body: ' + body.slice(0, 80)); continue; }
      if (this.checker) this.checker.fromServer(msg);
      this.msgs.push(msg);
      this.waiters = this.waiters.filter((w) => !w(msg));
    }
  }
  send(bufOrObj) {
    if (!Buffer.isBuffer(bufOrObj)) {
      if (this.checker) this.checker.fromClient(bufOrObj);
      bufOrObj = frame(bufOrObj);
    }
    return new Promise((res) => this.proc.stdin.write(bufOrObj, res));
  }
  // Resolves with the first message (already received or future) matching pred.
  waitFor(pred, ms = 10000, what = 'message') {
    const hit = this.msgs.find(pred);
    if (hit) return Promise.resolve(hit);
    return withTimeout(new Promise((res) => this.waiters.push((m) => (pred(m) ? (res(m), true) : false))), ms, what);
  }
  end() { this.proc.stdin.end(); return withTimeout(this.proc.exitP, 15000, 'server exit after end of input'); }
}

// ---- DAP ------------------------------------------------------------------------------------
const dapSchema = JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'debugAdapterProtocol.json'), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema(dapSchema, 'dap');
const dapValidators = new Map();
function dapValidator(def) {
  if (!dapValidators.has(def)) {
    if (!dapSchema.definitions[def]) return null;
    dapValidators.set(def, ajv.compile({ $ref: `dap#/definitions/${def}` }));
  }
  return dapValidators.get(def);
}
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);

// Checks one adapter message: schema, seq order, request_seq/command pairing, one response.
class DapChecker {
  constructor() { this.errors = []; this.lastSeq = 0; this.sent = new Map(); this.answered = new Set(); this.received = []; }
  fromClient(seq, command) { this.sent.set(seq, command); }
  fromAdapter(msg) {
    this.received.push(msg);
    const where = msg.type === 'event' ? `event ${msg.event}` : `response ${msg.command}`;
    if (msg.seq !== this.lastSeq + 1) this.errors.push(`${where}: seq ${msg.seq} does not follow ${this.lastSeq}`);
    this.lastSeq = msg.seq;
    let def;
    if (msg.type === 'event') def = `${cap(String(msg.event))}Event`;
    else if (msg.type === 'response') {
      def = msg.success ? `${cap(String(msg.command))}Response` : 'ErrorResponse';
      if (!this.sent.has(msg.request_seq)) this.errors.push(`${where}: request_seq ${msg.request_seq} matches no request`);
      else if (this.sent.get(msg.request_seq) !== msg.command) this.errors.push(`${where}: command differs from request '${this.sent.get(msg.request_seq)}'`);
      if (this.answered.has(msg.request_seq)) this.errors.push(`${where}: second response to request ${msg.request_seq}`);
      this.answered.add(msg.request_seq);
    } else { this.errors.push(`unexpected message type ${msg.type}`); return; }
    const v = dapValidator(def);
    if (!v) { this.errors.push(`${where}: no schema definition ${def}`); return; }
    if (!v(msg)) this.errors.push(`${where}: ${ajv.errorsText(v.errors, { dataVar: def })}`);
  }
  unanswered() { return [...this.sent.keys()].filter((s) => !this.answered.has(s)); }
}

class CheckedDebugClient extends DebugClient {
  constructor(args = ['dap'], env = {}) {
    super(BIN, '', 'layerscope');
    this._args = args;
    this._env = env;
    this.checker = new DapChecker();
  }
  start() {
    this.proc = spawn(this._args, this._env);
    this._adapterProcess = this.proc;
    this.connect(this.proc.stdout, this.proc.stdin);
    return Promise.resolve();
  }
  doSend(command, args, clb) {
    this.checker.fromClient(this.sequence, command);
    return super.doSend(command, args, clb);
  }
  dispatch(body) {
    this.checker.fromAdapter(JSON.parse(body));
    return super.dispatch(body);
  }
  // Like send(), but resolves with the response also when success is false.
  raw(command, args) { return new Promise((res) => this.doSend(command, args, res)); }
}

module.exports = { BIN, SANITIZE, meta, spawn, withTimeout, watchdog, startLsp, initialize, BASE_CAPS, frame, RawSession,
  LspChecker, CheckedDebugClient, DapChecker, FIXTURES, lsp };
