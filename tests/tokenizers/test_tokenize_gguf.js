// test_tokenize_gguf.js: `layerscope tokenize FILE.gguf` reads the tokenizer stored in a GGUF
// file's tokenizer.ggml.* keys. For each npm-shipped tokenizer.json (lib.js) this test writes
// a GGUF holding only that tokenizer, the way llama.cpp's converter stores one (written here
// from the GGUF layout, independent of layerscope's reader): tokens in id order, token_type
// (CONTROL for special added tokens, USER_DEFINED for the others, with U+2581 written back
// as spaces for SentencePiece ones; BYTE and UNKNOWN for SentencePiece), merges for "gpt2" models, scores for "llama" ones (a token's score ranks
// the merge that first makes it, as a SentencePiece model's scores rank its merges), bos/eos
// ids and add_bos_token/add_eos_token as the file's post-processor behaves. Every id of the
// corpus, with and without special tokens, must be the reference's (Hugging Face tokenizers
// on the tokenizer.json), and so must the decoded text. Then a model whose tensors use a
// ggml type the tensor readers do not decode, and the errors: a GGUF without a tokenizer,
// an unsupported model and pre-tokenizer, a duplicate token.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { requireReference, tokenizerFiles, tmpdir, CORPUS } = require('./lib');

const LS = process.env.LAYERSCOPE;
if (!LS) { console.error('LAYERSCOPE is not set'); process.exit(2); }
const ref = requireReference();

let failures = 0, checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) { failures++; console.error(`FAIL: ${what}`); }
}
function run(args) {
  const r = spawnSync(LS, ['tokenize', ...args], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 300000 });
  if (r.error) throw r.error;
  return r;
}

// ---- a GGUF v3 writer (ggml's docs/gguf.md): header, key/values, no tensors ----------------
const T = { U32: 4, I32: 5, F32: 6, BOOL: 7, STR: 8, ARR: 9 };
// tensors: [name, ne (fastest first), ggml type, data bytes], laid out at 32-byte alignment
function ggufWrite(file, kvs, tensors = []) {
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
  const str = (s) => { const b = Buffer.from(s, 'utf8'); u64(b.length); parts.push(b); };
  const scalar = (t, v) => {
    if (t === T.STR) return str(v);
    const b = Buffer.alloc(t === T.BOOL ? 1 : 4);
    if (t === T.U32) b.writeUInt32LE(v); else if (t === T.I32) b.writeInt32LE(v);
    else if (t === T.F32) b.writeFloatLE(v); else b.writeUInt8(v ? 1 : 0);
    parts.push(b);
  };
  parts.push(Buffer.from('GGUF'));
  u32(3);
  u64(tensors.length);
  u64(kvs.length);
  for (const [key, t, v, et] of kvs) {
    str(key);
    u32(t);
    if (t === T.ARR) { u32(et); u64(v.length); for (const x of v) scalar(et, x); } else scalar(t, v);
  }
  let off = 0;
  for (const [name, ne, type, nbytes] of tensors) {
    str(name);
    u32(ne.length);
    for (const x of ne) u64(x);
    u32(type);
    u64(off);
    off += Math.ceil(nbytes / 32) * 32;
  }
  const head = Buffer.concat(parts);
  const pad = tensors.length ? (32 - (head.length % 32)) % 32 : 0;
  fs.writeFileSync(file, Buffer.concat([head, Buffer.alloc(pad + off, 1)]));
}

// ---- tokenizer.json -> GGUF, as llama.cpp's converter does ----------------------------
const FAMILY = {
  llama2: { model: 'llama', prefix: true },
  gemma3: { model: 'llama', prefix: false },
  llama3: { model: 'gpt2', pre: 'llama-bpe' },
  qwen3: { model: 'gpt2', pre: 'qwen2' },
  deepseek_v3: { model: 'gpt2', pre: 'deepseek-v3' },
  gptoss: { model: 'gpt2', pre: 'gpt-4o' },
};

async function toGguf(name, file, out) {
  const fam = FAMILY[name];
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  const vocab = j.model.vocab;
  const tokens = [], types = [];
  for (const [t, id] of Object.entries(vocab)) { tokens[id] = t; types[id] = 1; }
  for (const a of j.added_tokens) { tokens[a.id] = a.content; types[a.id] = a.special ? 3 : 4; }
  for (let i = 0; i < tokens.length; i++) if (tokens[i] === undefined) { tokens[i] = `[PAD${i}]`; types[i] = 5; }
  const merges = j.model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const kvs = [['general.architecture', T.STR, name], ['tokenizer.ggml.model', T.STR, fam.model]];
  if (fam.model === 'llama') {
    // a token's score: minus the rank of the first merge that makes it (0 for the others)
    const scores = new Array(tokens.length).fill(0);
    const seen = new Set();
    merges.forEach((m, rank) => {
      const sp = m.indexOf(' ');
      const t = m.slice(0, sp) + m.slice(sp + 1);
      if (!seen.has(t)) { seen.add(t); if (vocab[t] !== undefined) scores[vocab[t]] = -1 - rank; }
    });
    for (let i = 0; i < tokens.length; i++) {
      if (types[i] === 1 && /^<0x[0-9A-F]{2}>$/.test(tokens[i])) types[i] = 6;
      if (tokens[i] === j.model.unk_token) types[i] = 2;
      // the converter pre-normalizes user-defined tokens ("▁▁" becomes two spaces), which
      // llama.cpp then matches in the raw text
      if (types[i] === 4) tokens[i] = tokens[i].replace(/\u2581/g, ' ');
    }
    kvs.push(['tokenizer.ggml.scores', T.ARR, scores, T.F32], ['tokenizer.ggml.add_space_prefix', T.BOOL, fam.prefix]);
  } else {
    kvs.push(['tokenizer.ggml.pre', T.STR, fam.pre], ['tokenizer.ggml.merges', T.ARR, merges, T.STR]);
  }
  kvs.push(['tokenizer.ggml.tokens', T.ARR, tokens, T.STR], ['tokenizer.ggml.token_type', T.ARR, types, T.I32]);
  // BOS/EOS as the post-processor adds them: what the reference gives for the empty text
  const tok = ref.Tokenizer.fromFile(file);
  const empty = (await tok.encode('')).getIds();
  const bos = empty.length >= 1 ? empty[0] : null, eos = empty.length >= 2 ? empty[1] : null;
  if (bos !== null) kvs.push(['tokenizer.ggml.bos_token_id', T.U32, bos]);
  if (eos !== null) kvs.push(['tokenizer.ggml.eos_token_id', T.U32, eos]);
  kvs.push(['tokenizer.ggml.add_bos_token', T.BOOL, bos !== null], ['tokenizer.ggml.add_eos_token', T.BOOL, eos !== null]);
  ggufWrite(out, kvs);
  return { tok, kvs };
}

async function compare(name, file, gguf, dir) {
  const { tok } = await toGguf(name, file, gguf);
  const corpusFile = path.join(dir, 'corpus.jsonl');
  fs.writeFileSync(corpusFile, CORPUS.map((s) => JSON.stringify(s)).join('\n') + '\n');
  let same = 0;
  for (const special of [true, false]) {
    const r = run([gguf, '--jsonl', corpusFile, ...(special ? [] : ['--no-special'])]);
    check(r.status === 0, `${name}.gguf: --jsonl exit ${r.status}: ${r.stderr}`);
    if (r.status !== 0) return 0;
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    for (let i = 0; i < CORPUS.length; i++) {
      const s = CORPUS[i], got = lines[i] || {};
      const ids = (await tok.encode(s, null, { addSpecialTokens: special })).getIds();
      const ok = JSON.stringify(got.ids) === JSON.stringify(ids);
      check(ok, `${name}.gguf${special ? '' : ' --no-special'}: ${JSON.stringify(s.slice(0, 60))}\n  reference ${JSON.stringify(ids)}\n  layerscope ${JSON.stringify(got.ids)}${got.error ? ' error: ' + got.error : ''}`);
      if (!ok) continue;
      const dec = await tok.decode(ids, false);
      check(got.text === dec, `${name}.gguf: decode(${JSON.stringify(s.slice(0, 60))})\n  reference ${JSON.stringify(dec)}\n  layerscope ${JSON.stringify(got.text)}`);
      if (special && got.text === dec) same++;
    }
  }
  return same;
}

// The tokenizer of a model whose tensors use a ggml type layerscope's tensor readers do not
// decode (q2_K): only the key/values are read, so it still loads.
function unreadTensors(dir) {
  const f = path.join(dir, 'q2k.gguf');
  ggufWrite(f, [['general.architecture', T.STR, 'llama'], ['tokenizer.ggml.model', T.STR, 'gpt2'],
    ['tokenizer.ggml.pre', T.STR, 'qwen2'], ['tokenizer.ggml.tokens', T.ARR, ['a', 'b', 'ab'], T.STR],
    ['tokenizer.ggml.merges', T.ARR, ['a b'], T.STR]], [['blk.0.attn_q.weight', [256, 1], 10, 84]]);
  const r = run([f, '--text', 'abba']);
  check(r.status === 0 && r.stdout.trim() === '2,1,0', `a GGUF with q2_K tensors: ids 2,1,0 (got ${r.status} ${r.stdout} ${r.stderr})`);
}

function badInput(dir) {
  const expectError = (kvs, re, what) => {
    const f = path.join(dir, 'bad.gguf');
    ggufWrite(f, kvs);
    const r = run([f, '--text', 'x']);
    check(r.status === 1 && re.test(r.stderr), `${what}: exit ${r.status}, stderr ${JSON.stringify(r.stderr)} should match ${re}`);
  };
  const toks = ['tokenizer.ggml.tokens', T.ARR, ['a', 'b', 'ab'], T.STR];
  expectError([['general.architecture', T.STR, 'llama']], /tokenizer\.ggml\.model is missing/, 'a GGUF without a tokenizer');
  expectError([['tokenizer.ggml.model', T.STR, 't5'], toks], /tokenizer\.ggml\.model 't5' is not supported/, 'a T5 (Unigram) tokenizer');
  expectError([['tokenizer.ggml.model', T.STR, 'gpt2'], ['tokenizer.ggml.pre', T.STR, 'starcoder'], toks],
    /tokenizer\.ggml\.pre 'starcoder' is not supported/, 'an unknown pre-tokenizer');
  expectError([['tokenizer.ggml.model', T.STR, 'gpt2'], ['tokenizer.ggml.pre', T.STR, 'qwen2'],
    ['tokenizer.ggml.tokens', T.ARR, ['a', 'b', 'a'], T.STR], ['tokenizer.ggml.merges', T.ARR, [], T.STR]],
    /tokens\[2\] 'a' appears twice/, 'a duplicate token');
  expectError([['tokenizer.ggml.model', T.STR, 'gpt2'], ['tokenizer.ggml.pre', T.STR, 'qwen2'], toks,
    ['tokenizer.ggml.merges', T.ARR, ['a c'], T.STR]], /merges\[0\].*not in the vocabulary/, 'a merge of an unknown token');
  expectError([['tokenizer.ggml.model', T.STR, 'llama'], toks, ['tokenizer.ggml.add_bos_token', T.BOOL, false],
    ['tokenizer.ggml.scores', T.ARR, [0, 0], T.F32]],
    /scores must hold one number per token \(3\)/, 'scores of the wrong length');
}

async function main() {
  const dir = tmpdir('tokgguf');
  const files = tokenizerFiles();
  const summary = [];
  for (const [name, file] of Object.entries(files)) {
    const gguf = path.join(dir, `${name}.gguf`);
    const n = await compare(name, file, gguf, dir);
    summary.push(`${name}.gguf (${FAMILY[name].model}${FAMILY[name].pre ? ', ' + FAMILY[name].pre : ''}): ${n}/${CORPUS.length} strings, ids and decode as the reference on tokenizer.json`);
    fs.rmSync(gguf, { force: true });
  }
  unreadTensors(dir);
  badInput(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const line of summary) console.log(line);
  console.log(`${checks - failures} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
