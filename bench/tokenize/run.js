// run.js: tokenization throughput, layerscope next to the reference (Hugging Face tokenizers,
// the Rust library, through its node bindings @anush008/tokenizers), in one run on the same
// machine, on the same few MB of mixed text (generated deterministically: English-like prose,
// code, digits, CJK, Cyrillic, emoji, whitespace runs), with the same tokenizer.json files
// the tests use (tests/tokenizers). Each side encodes the whole text as one string REPEAT
// times in one process and keeps its fastest run (warm caches on both sides; loading the
// file is not timed); ids must be identical, or the figure is not reported.
// Usage: node bench/tokenize/run.js [--bin build/release/cli/layerscope] [--mb 4] [--repeat 3]
//                                   [--only llama3,qwen3] [--json out.json]
'use strict';
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const lib = require(path.join(ROOT, 'tests', 'tokenizers', 'lib.js'));
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
const BIN = path.resolve(opt('--bin', process.env.LAYERSCOPE || path.join(ROOT, 'build', 'release', 'cli', 'layerscope')));
const MB = Number(opt('--mb', 4));
const REPEAT = Number(opt('--repeat', 3));
const ONLY = opt('--only', '');

// mulberry32: a small seeded PRNG, so the text is the same on every machine
function rng(seed) {
  return () => {
    seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mixedText(bytes) {
  const r = rng(20240601);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const words = ('the of and to in is was for that with as on by this be are from at or an it not which have ' +
    'model layer tensor attention gradient training inference token tokenizer vocabulary sequence batch ' +
    'learning rate optimizer weights activation embedding transformer residual normalization dropout ' +
    'however therefore although because during between without within through against').split(' ');
  const code = ['def forward(self, x):\n    return self.proj(x) + x\n', 'for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }\n',
    '{"hidden_size": 4096, "num_attention_heads": 32, "vocab_size": 32000}\n', '    if err != nil {\n        return nil, err\n    }\n'];
  const other = ['分词器将文本切分为词元。', 'モデルの重みを読み込みます。', 'Привет, как дела? ', 'Καλημέρα! ', 'مرحبا بالعالم ',
    '🤖🚀✨ ', '👍🏽 ', '    ', '\n\n', '\t', '12345 ', '3.14159 ', '2024-06-01 '];
  const parts = [];
  let n = 0;
  while (n < bytes) {
    let s;
    const x = r();
    if (x < 0.70) {
      const k = 5 + Math.floor(r() * 20);
      const ws = [];
      for (let i = 0; i < k; i++) ws.push(pick(words));
      s = ws.join(' ');
      s = s[0].toUpperCase() + s.slice(1) + pick(['. ', ', ', '! ', '? ', '.\n']);
    } else if (x < 0.82) s = pick(code);
    else s = pick(other);
    parts.push(s);
    n += Buffer.byteLength(s);
  }
  return parts.join('');
}

function cpuModel() {
  const cpus = os.cpus();
  return `${cpus[0].model} (${cpus.length} logical CPUs)`;
}

async function main() {
  const ref = lib.requireReference();
  const dir = lib.tmpdir('tokbench');
  const files = lib.tokenizerFiles();
  files.bert = lib.writeBertTokenizer(ref, dir);
  const text = mixedText(MB * 1e6);
  const textFile = path.join(dir, 'mixed.txt');
  fs.writeFileSync(textFile, text);
  const bytes = Buffer.byteLength(text);
  console.log(`CPU: ${cpuModel()}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`text: ${(bytes / 1e6).toFixed(2)} MB of mixed text; best of ${REPEAT} encodes of the whole text per side`);
  console.log('tokenizer     tokens    reference MB/s  layerscope MB/s  ratio');
  const rows = [];
  for (const [name, file] of Object.entries(files)) {
    if (ONLY && !ONLY.split(',').includes(name)) continue;
    const tok = ref.Tokenizer.fromFile(file);
    await tok.encode('warm up');
    let best = Infinity, ids = null;
    for (let i = 0; i < REPEAT; i++) {
      const t0 = process.hrtime.bigint();
      const enc = await tok.encode(text);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (ms < best) best = ms;
      if (!ids) ids = enc.getIds();
    }
    const r = cp.spawnSync(BIN, ['tokenize', file, '--file', textFile, '--repeat', String(REPEAT)], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0) { console.error(`${name}: layerscope failed: ${r.stderr}`); process.exit(1); }
    const m = /encode ([0-9.]+) ms/.exec(r.stderr);
    const ours = r.stdout.trim();
    if (ours !== ids.join(',')) { console.error(`${name}: ids differ from the reference; no figure`); process.exit(1); }
    const lsMs = Number(m[1]);
    const row = { tokenizer: name, tokens: ids.length, bytes, reference_ms: best, layerscope_ms: lsMs,
      reference_mbps: bytes / 1e6 / (best / 1e3), layerscope_mbps: bytes / 1e6 / (lsMs / 1e3) };
    row.ratio = row.layerscope_mbps / row.reference_mbps;
    rows.push(row);
    console.log(`${name.padEnd(12)} ${String(ids.length).padStart(8)}  ${row.reference_mbps.toFixed(2).padStart(14)}  ` +
      `${row.layerscope_mbps.toFixed(2).padStart(15)}  ${row.ratio.toFixed(2)}x`);
  }
  const out = opt('--json', '');
  if (out) fs.writeFileSync(out, JSON.stringify({ cpu: cpuModel(), loadavg: os.loadavg(), mb: bytes / 1e6, repeat: REPEAT, rows }, null, 2));
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => { console.error(e); process.exit(1); });
