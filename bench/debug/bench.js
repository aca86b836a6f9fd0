#!/usr/bin/env node
// bench.js: the two figures issue 7 asks of the debug adapter, measured through the protocol
// as VS Code would drive it (a raw DAP client over stdio: no dependency to install).
//   launch  : time from the `launch` request to the first `stopped` event (function
//             breakpoint on a module), split with the adapter's progress events into
//             launch -> progressStart (config parsed, session configured, runner started),
//             progressStart -> first "reading weights" update (random generation or binding
//             of the file's tensors), -> progressEnd (prefaulting the mapped file), and
//             progressEnd -> stopped (the forward pass up to the breakpoint).
//   vars    : after a stop, `variables` on the scope holding a large tensor: the first
//             request (statistics computed then) and a second one (cached).
// Prints one JSON object per measurement on stdout; run.sh makes the table.
//   node bench.js launch --bin B --config C [--weights W] --break GLOB [--tokens N]
//   node bench.js vars   --bin B --config C --break GLOB --scope NAME --var NAME [--tokens N]
'use strict';
const cp = require('child_process');

const argv = process.argv.slice(2);
const mode = argv[0];
const opt = (k, d) => { const i = argv.indexOf(k); return i >= 0 ? argv[i + 1] : d; };
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

class Dap {
  constructor(bin) {
    this.p = cp.spawn(bin, ['dap'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.buf = Buffer.alloc(0);
    this.seq = 1;
    this.pending = new Map();
    this.events = []; // {t, event, body}
    this.waiters = [];
    this.p.stdout.on('data', (d) => this.onData(d));
    this.p.on('exit', (code) => {
      this.exited = code;
      for (const w of this.waiters) w.reject(new Error(`adapter exited (${code})`));
      for (const r of this.pending.values()) r.reject(new Error(`adapter exited (${code})`));
    });
  }
  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const h = this.buf.indexOf('\r\n\r\n');
      if (h < 0) return;
      const m = /Content-Length: *(\d+)/i.exec(this.buf.slice(0, h).toString());
      const len = Number(m[1]);
      if (this.buf.length < h + 4 + len) return;
      const msg = JSON.parse(this.buf.slice(h + 4, h + 4 + len).toString());
      this.buf = this.buf.slice(h + 4 + len);
      const t = now();
      if (msg.type === 'response') {
        const r = this.pending.get(msg.request_seq);
        this.pending.delete(msg.request_seq);
        if (r) (msg.success ? r.resolve : r.reject)(msg.success ? { t, body: msg.body || {} } : new Error(`${msg.command}: ${msg.message}`));
      } else if (msg.type === 'event') {
        this.events.push({ t, event: msg.event, body: msg.body || {} });
        this.waiters = this.waiters.filter((w) => {
          if (w.event !== msg.event) return true;
          w.resolve({ t, body: msg.body || {} });
          return false;
        });
        if (msg.event === 'initialized' && this.onInitialized) this.onInitialized();
      }
    }
  }
  send(command, args) {
    const seq = this.seq++;
    const b = Buffer.from(JSON.stringify({ seq, type: 'request', command, arguments: args }));
    const p = new Promise((resolve, reject) => this.pending.set(seq, { resolve, reject }));
    this.p.stdin.write(Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`), b]));
    return p;
  }
  wait(event, ms) {
    const seen = this.events.find((e) => e.event === event);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { event, resolve, reject };
      this.waiters.push(w);
      setTimeout(() => reject(new Error(`no ${event} event in ${ms} ms`)), ms).unref();
    });
  }
  // disconnect; returns the ms from the request to the adapter's exit (timers unref'd so
  // that they do not keep node alive once the adapter is gone)
  async close() {
    const a = now();
    const exited = new Promise((r) => {
      if (this.exited !== undefined) { r(); return; }
      this.p.on('exit', r);
      setTimeout(() => { this.p.kill('SIGKILL'); r(); }, 30000).unref();
    });
    try { await this.send('disconnect', { terminateDebuggee: true }); } catch (e) { /* ended */ }
    await exited;
    return now() - a;
  }
}

async function start(d) {
  await d.send('initialize', { clientID: 'layerscope-bench', adapterID: 'layerscope', linesStartAt1: true,
    columnsStartAt1: true, pathFormat: 'path', supportsProgressReporting: true, supportsVariableType: true });
  const args = { config: opt('--config'), randomTokens: Number(opt('--tokens', 16)), seed: 1 };
  if (opt('--weights')) args.weights = opt('--weights');
  if (opt('--threads')) args.threads = Number(opt('--threads'));
  d.onInitialized = async () => {
    const r = await d.send('setFunctionBreakpoints', { breakpoints: [{ name: opt('--break') }] });
    d.bp = r.body.breakpoints[0];
    await d.send('configurationDone', {});
  };
  const t0 = now();
  const stopped = d.wait('stopped', 600000);
  await d.send('launch', args);
  const st = await stopped;
  return { t0, st };
}

async function launchMode() {
  const d = new Dap(opt('--bin'));
  const { t0, st } = await start(d);
  const ev = (name, pred) => { const e = d.events.find((x) => x.event === name && (!pred || pred(x))); return e ? e.t - t0 : null; };
  const out = {
    what: 'launch', weights: opt('--weights') || null, breakpoint: opt('--break'), verified: d.bp && d.bp.verified,
    bp_message: d.bp && d.bp.message, stopped_reason: st.body.reason,
    ms_launch_to_stop: st.t - t0,
    ms_progress_start: ev('progressStart'),
    ms_first_reading: ev('progressUpdate', (x) => x.body.message === 'reading weights'),
    ms_progress_end: ev('progressEnd'),
    n_progress_updates: d.events.filter((x) => x.event === 'progressUpdate').length,
  };
  const th = await d.send('threads', {});
  const tid = st.body.threadId || th.body.threads[0].id;
  const stk = await d.send('stackTrace', { threadId: tid, startFrame: 0, levels: 1 });
  out.top_frame = stk.body.stackFrames[0] && stk.body.stackFrames[0].name;
  out.ms_disconnect_to_exit = await d.close();
  console.log(JSON.stringify(out));
}

async function varsMode() {
  const d = new Dap(opt('--bin'));
  const { t0, st } = await start(d);
  const out = { what: 'vars', breakpoint: opt('--break'), ms_launch_to_stop: st.t - t0 };
  const th = await d.send('threads', {});
  const tid = st.body.threadId || th.body.threads[0].id;
  const stk = await d.send('stackTrace', { threadId: tid, startFrame: 0, levels: 20 });
  out.top_frame = stk.body.stackFrames[0].name;
  const sc = await d.send('scopes', { frameId: stk.body.stackFrames[0].id });
  const scope = sc.body.scopes.find((s) => s.name === opt('--scope'));
  if (!scope) throw new Error(`no scope ${opt('--scope')} in ${sc.body.scopes.map((s) => s.name)}`);
  const timed = async (ref) => { const a = now(); const r = await d.send('variables', { variablesReference: ref }); return { ms: r.t - a, vars: r.body.variables }; };
  const first = await timed(scope.variablesReference);
  const second = await timed(scope.variablesReference);
  const v = first.vars.find((x) => x.name === opt('--var'));
  if (!v) throw new Error(`no variable ${opt('--var')} in ${first.vars.map((x) => x.name)}`);
  out.scope = scope.name;
  out.n_vars = first.vars.length;
  out.variable = `${v.name} = ${v.value}`;
  out.ms_first = first.ms;
  out.ms_second = second.ms;
  // opening the tensor: its children (stats, histogram, first page of slices)
  const kids = await timed(v.variablesReference);
  out.ms_children = kids.ms;
  const statsChild = kids.vars.find((x) => x.name === 'stats');
  if (statsChild && statsChild.variablesReference) out.ms_stats_children = (await timed(statsChild.variablesReference)).ms;
  out.ms_disconnect_to_exit = await d.close();
  console.log(JSON.stringify(out));
}

(mode === 'launch' ? launchMode() : mode === 'vars' ? varsMode() : Promise.reject(new Error('mode: launch | vars')))
  .catch((e) => { console.error(`bench.js: ${e.message}`); process.exit(1); });
