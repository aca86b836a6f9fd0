// soak.js: helpers of the soak tests (test_soak_lsp.js, test_soak_dap.js): the resident set
// size of a server process read from /proc/<pid>/status, the growth rule both tests apply,
// and an independent parameter count of a Llama config (the formula from the published
// architecture, not from layerscope) that the LSP soak checks its final hover against.
'use strict';
const fs = require('fs');
const assert = require('node:assert');

// Resident set size of pid in KiB (VmRSS line of /proc/<pid>/status).
function rssKiB(pid) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

// The growth rule: the final RSS may exceed the reference level by 10% plus an absolute slack
// of 2 MiB. The slack covers allocator noise that does not scale with the work done (malloc
// arenas of a second thread, a grown stdio or socket buffer, a page-aligned heap top moved by
// one more chunk); a real leak of even 100 bytes per edit over 99,000 edits is ~9.4 MiB and
// fails the rule.
const SLACK_KIB = 2048;
function assertNoGrowth(refKiB, endKiB, what) {
  const limit = Math.floor(refKiB * 1.10) + SLACK_KIB;
  console.log(`# ${what}: RSS ${refKiB} KiB at reference, ${endKiB} KiB at end (limit ${limit} KiB)`);
  assert.ok(endKiB <= limit, `${what}: RSS grew from ${refKiB} KiB to ${endKiB} KiB (limit ${limit} KiB)`);
}

// Parameters of a Llama-style decoder with untied embeddings: per layer q,o [h,h], k,v
// [kv,h], gate/up/down [i,h] and two RMSNorm weights [h]; embeddings and lm_head [V,h], a
// final norm [h]. Llama-2-7b (h 4096, i 11008, L 32, V 32000, kv = h): 6,738,415,616, the
// published figure.
function llamaParams({ hidden_size: h, intermediate_size: i, num_hidden_layers: L, vocab_size: V,
  num_attention_heads: nh, num_key_value_heads: nkv }) {
  const kv = (h / nh) * (nkv || nh);
  const layer = 2 * h * h + 2 * kv * h + 3 * h * i + 2 * h;
  return L * layer + 2 * V * h + h;
}

// 6738415616 -> "6,738,415,616"
const grouped = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

module.exports = { rssKiB, assertNoGrowth, SLACK_KIB, llamaParams, grouped };
