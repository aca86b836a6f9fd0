#!/usr/bin/env node
// bench.js: start-up cost of `layerscope lsp` against the npm JSON language server
// (vscode-json-languageserver, installed beside this file), in one run, as a ratio.
// For each server and each of N runs: time from spawn() to the initialize response, then
// the resident set size (VmRSS from /proc) once idle after `initialized`, then a clean
// shutdown/exit. Reports median / p90 / min. Targets for layerscope: < 20 ms, < 10 MiB.
//   node bench.js [--runs 50] [--bin path/to/layerscope]
'use strict';
const cp = require('child_process');
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const opt = (k, d) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : d; };
const RUNS = Number(opt('--runs', 50));
const root = path.resolve(__dirname, '..', '..');
const BIN = path.resolve(opt('--bin', process.env.LAYERSCOPE || path.join(root, 'build', 'release', 'cli', 'layerscope')));
const JSON_LS = path.join(__dirname, 'node_modules', 'vscode-json-languageserver', 'bin', 'vscode-json-languageserver');

function frame(o) { const b = Buffer.from(JSON.stringify(o)); return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`), b]); }

function once(cmd, argv) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = cp.spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'ignore'] });
    let buf = Buffer.alloc(0), tInit = null, done = false;
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${cmd}: no initialize response in 10 s`)); }, 10000);
    p.stdout.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (tInit === null && buf.includes('"id":1')) {
        tInit = Number(process.hrtime.bigint() - t0) / 1e6;
        p.stdin.write(frame({ jsonrpc: '2.0', method: 'initialized', params: {} }));
        setTimeout(() => {
          const st = fs.readFileSync(`/proc/${p.pid}/status`, 'utf8');
          const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(st)[1]);
          p.stdin.write(frame({ jsonrpc: '2.0', id: 2, method: 'shutdown' }));
          p.stdin.write(frame({ jsonrpc: '2.0', method: 'exit' }));
          p.on('exit', () => { clearTimeout(timer); done = true; resolve({ ms: tInit, rssMiB: rssKiB / 1024 }); });
        }, 150);
      }
    });
    p.on('error', reject);
    p.on('exit', (code) => { if (!done && tInit === null) { clearTimeout(timer); reject(new Error(`${cmd} exited (${code}) before answering`)); } });
    p.stdin.write(frame({ jsonrpc: '2.0', id: 1, method: 'initialize',
      params: { processId: process.pid, rootUri: null, capabilities: {} } }));
  });
}

const q = (xs, f) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(f * s.length))]; };

async function measure(name, cmd, argv) {
  const r = [];
  for (let i = 0; i < RUNS; i++) r.push(await once(cmd, argv));
  const ms = r.map((x) => x.ms), rss = r.map((x) => x.rssMiB);
  return { name, runs: RUNS, ms_median: q(ms, 0.5), ms_p90: q(ms, 0.9), ms_min: Math.min(...ms), rss_mib_median: q(rss, 0.5) };
}

(async () => {
  if (!fs.existsSync(BIN)) { console.error(`no layerscope binary at ${BIN} (build first or pass --bin)`); process.exit(2); }
  const rows = [await measure('layerscope lsp', BIN, ['lsp'])];
  if (fs.existsSync(JSON_LS)) rows.push(await measure('vscode-json-languageserver', process.execPath, [JSON_LS, '--stdio']));
  else console.error('vscode-json-languageserver not installed (run.sh installs it); comparison skipped');
  console.log(`start-up to initialize response, ${RUNS} runs each (${new Date().toISOString()}, ${require('os').cpus()[0].model})`);
  console.log('server                        median ms   p90 ms   min ms   idle RSS MiB');
  for (const r of rows) console.log(`${r.name.padEnd(28)} ${r.ms_median.toFixed(2).padStart(9)} ${r.ms_p90.toFixed(2).padStart(8)} ${r.ms_min.toFixed(2).padStart(8)} ${r.rss_mib_median.toFixed(2).padStart(13)}`);
  if (rows.length === 2)
    console.log(`ratio (json-ls / layerscope): time ${(rows[1].ms_median / rows[0].ms_median).toFixed(1)}x, RSS ${(rows[1].rss_mib_median / rows[0].rss_mib_median).toFixed(1)}x`);
  const ok = rows[0].ms_median < 20 && rows[0].rss_mib_median < 10;
  console.log(`targets (< 20 ms, < 10 MiB): ${ok ? 'met' : 'NOT met'}`);
  const out = path.join(root, 'bench', 'out');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'startup.json'), JSON.stringify(rows, null, 2) + '\n');
  process.exit(ok ? 0 : 1);
})().catch((e) => { console.error(e.message); process.exit(2); });
