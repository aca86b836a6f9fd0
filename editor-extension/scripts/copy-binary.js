// copy-binary.js: bundles the layerscope executable into bin/ before `vsce package`, so the
// VSIX works where layerscope is not on PATH. Takes LAYERSCOPE_BIN if set, else the release
// build (build/release/cli/layerscope); without either the VSIX is built without a binary and
// the extension falls back to the setting / PATH.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const candidates = [process.env.LAYERSCOPE_BIN, path.join(root, 'build', 'release', 'cli', 'layerscope')]
  .filter(Boolean);
const dest = path.resolve(__dirname, '..', 'bin', 'layerscope');
const src = candidates.find((p) => fs.existsSync(p));
fs.rmSync(dest, { force: true });
if (!src) {
  console.log('copy-binary: no built layerscope (' + candidates.join(', ') + '); VSIX without bin/');
  process.exit(0);
}
fs.mkdirSync(path.dirname(dest), { recursive: true });
fs.copyFileSync(src, dest);
fs.chmodSync(dest, 0o755);
console.log('copy-binary: ' + src + ' -> bin/layerscope');
