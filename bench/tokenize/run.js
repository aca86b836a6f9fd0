// run.js: tokenization throughput, layerscope next to the reference (Hugging Face tokenizers,
// the Rust library, through its node bindings @anush008/tokenizers), in one run on the same
// machine, on the same few MB of mixed text (generated deterministically: English-like prose,
// code, digits, CJK, Cyrillic, emoji, whitespace runs), with the same tokenizer.json files
// the tests use (tests/tokenizers). Two ways of feeding the text, each side on one thread:
//   docs   the text as documents of about 2 KB, encoded one after the other: the reference
//          through encodeBatch with TOKENIZERS_PARALLELISM=false (sequential, one call, so no
//          per-call overhead of the bindings), layerscope through --jsonl --timing (the sum
//          of its encode calls; reading JSON lines and decoding are not timed);
//   whole  the text as one string (encode(text); tokenize --file --repeat).
// Each side keeps its fastest of REPEAT runs (warm caches; loading the file is not timed);
// ids must be identical, or no figure is printed. The CPU model is printed with the table.
// Usage: node bench/tokenize/run.js [--bin build/release/cli/layerscope] [--mb 4] [--repeat 3]
//                                   [--only llama3,qwen3] [--json out.json]
'use strict';
const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

process.env.TOKENIZERS_PARALLELISM = 'false'; // before the bindings load: one thread
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

// The mixed text as a list of documents of about docBytes each.
function mixedDocs(bytes, docBytes) {
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
  const docs = [];
  let parts = [], n = 0, nd = 0;
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
    nd += Buffer.byteLength(s);
    if (nd >= docBytes) { docs.push(parts.join('')); parts = []; nd = 0; }
  }
  if (parts.length) docs.push(parts.join(''));
  return docs;
}

function cpuModel() {
  const m = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  return `${m ? m[1] : os.cpus()[0].model} (${os.cpus().length} logical CPUs)`;
}

const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1e3);

function runLs(args) {
  const r = cp.spawnSync(BIN, ['tokenize', ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) { console.error(`layerscope failed: ${r.stderr}`); process.exit(1); }
  return r;
}

async function main() {
  const ref = lib.requireReference();
  const dir = lib.tmpdir('tokbench');
  const files = lib.tokenizerFiles();
  files.bert = lib.writeBertTokenizer(ref, dir);
  const docs = mixedDocs(MB * 1e6, 2000);
  const text = docs.join('');
  const textFile = path.join(dir, 'mixed.txt'), docsFile = path.join(dir, 'mixed.jsonl');
  fs.writeFileSync(textFile, text);
  fs.writeFileSync(docsFile, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const bytes = Buffer.byteLength(text);
  console.log(`CPU: ${cpuModel()}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`text: ${(bytes / 1e6).toFixed(2)} MB of mixed text, ${docs.length} documents; best of ${REPEAT} runs per side, one thread each`);
  console.log('tokenizer     tokens   docs: reference  layerscope  ratio   whole: reference  layerscope  ratio   (MB/s)');
  const rows = [];
  for (const [name, file] of Object.entries(files)) {
    if (ONLY && !ONLY.split(',').includes(name)) continue;
    const tok = ref.Tokenizer.fromFile(file);
    await tok.encode('warm up');
    // docs
    let refDocs = Infinity, refDocIds = null;
    for (let i = 0; i < REPEAT; i++) {
      const t0 = process.hrtime.bigint();
      const encs = await tok.encodeBatch(docs);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (ms < refDocs) refDocs = ms;
      if (!refDocIds) refDocIds = encs.map((e) => e.getIds().join(','));
    }
    let lsDocs = Infinity;
    for (let i = 0; i < REPEAT; i++) {
      const r = runLs([file, '--jsonl', docsFile, '--timing']);
      lsDocs = Math.min(lsDocs, Number(/encode ([0-9.]+) ms/.exec(r.stderr)[1]));
      if (i === 0) {
        const got = r.stdout.trim().split('\n').map((l) => JSON.parse(l).ids.join(','));
        if (got.length !== refDocIds.length || got.some((g, k) => g !== refDocIds[k])) {
          console.error(`${name}: ids of the documents differ from the reference; no figure`);
          process.exit(1);
        }
      }
    }
    // whole
    let refWhole = Infinity, ids = null;
    for (let i = 0; i < REPEAT; i++) {
      const t0 = process.hrtime.bigint();
      const enc = await tok.encode(text);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (ms < refWhole) refWhole = ms;
      if (!ids) ids = enc.getIds();
    }
    const r = runLs([file, '--file', textFile, '--repeat', String(REPEAT)]);
    if (r.stdout.trim() !== ids.join(',')) { console.error(`${name}: ids differ from the reference; no figure`); process.exit(1); }
    const lsWhole = Number(/encode ([0-9.]+) ms/.exec(r.stderr)[1]);
    const row = { tokenizer: name, tokens: ids.length, bytes,
      docs: { reference_mbps: mbps(bytes, refDocs), layerscope_mbps: mbps(bytes, lsDocs), ratio: refDocs / lsDocs },
      whole: { reference_mbps: mbps(bytes, refWhole), layerscope_mbps: mbps(bytes, lsWhole), ratio: refWhole / lsWhole } };
    rows.push(row);
    const f = (x) => x.toFixed(2).padStart(10);
    console.log(`${name.padEnd(12)} ${String(ids.length).padStart(8)}   ${f(row.docs.reference_mbps)}  ${f(row.docs.layerscope_mbps)}  ` +
      `${row.docs.ratio.toFixed(2).padStart(5)}x   ${f(row.whole.reference_mbps)}  ${f(row.whole.layerscope_mbps)}  ${row.whole.ratio.toFixed(2).padStart(5)}x`);
  }
  const out = opt('--json', '');
  if (out) fs.writeFileSync(out, JSON.stringify({ cpu: cpuModel(), loadavg: os.loadavg(), mb: bytes / 1e6, docs: docs.length, repeat: REPEAT, rows }, null, 2));
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => { console.error(e); process.exit(1); });
