// copy-binary.js: bundles the layerscope executable into bin/ before `vsce package`, so the
// VSIX works where layerscope is not on PATH. Takes LAYERSCOPE_BIN if set, else the release
// build (build/release/cli/layerscope); without either the VSIX is built without a binary and
// the extension falls back to the setting / PATH.
//
// With it goes the Python agent that debugs PyTorch programs, laid out as an installed
// layerscope has it beside bin/ (agent/spawn.c looks there first): lib/layerscope/
// liblayerscope_agent.so and lib/layerscope/python/{layerscope_agent,boot}. They come from the
// executable's build tree (BUILD/agent/ and the sources' agent/python) or its install prefix
// (PREFIX/lib/layerscope); without them the VSIX still debugs configs, and a program launch
// says the agent was not found.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const candidates = [process.env.LAYERSCOPE_BIN, path.join(root, 'build', 'release', 'cli', 'layerscope')]
  .filter(Boolean);
const ext = path.resolve(__dirname, '..');
const dest = path.join(ext, 'bin', 'layerscope');
const agentDest = path.join(ext, 'lib', 'layerscope');
const src = candidates.find((p) => fs.existsSync(p));
fs.rmSync(dest, { force: true });
fs.rmSync(path.join(ext, 'lib'), { recursive: true, force: true });
if (!src) {
  console.log('copy-binary: no built layerscope (' + candidates.join(', ') + '); VSIX without bin/');
  process.exit(0);
}
fs.mkdirSync(path.dirname(dest), { recursive: true });
fs.copyFileSync(src, dest);
fs.chmodSync(dest, 0o755);
console.log('copy-binary: ' + src + ' -> bin/layerscope');

// The agent: [shared library, directory holding layerscope_agent/ and boot/] per layout.
const binDir = path.dirname(fs.realpathSync(src));
const layouts = [
  [path.join(binDir, '..', 'agent', 'liblayerscope_agent.so'), path.join(root, 'agent', 'python')],   // build tree
  [path.join(binDir, '..', 'lib', 'layerscope', 'liblayerscope_agent.so'), path.join(binDir, '..', 'lib', 'layerscope', 'python')],
];
const agent = layouts.find(([lib, py]) => fs.existsSync(lib) && fs.existsSync(path.join(py, 'layerscope_agent', '__init__.py')));
if (!agent) {
  console.log('copy-binary: no Python agent beside ' + src + '; VSIX without lib/layerscope (configs only)');
  process.exit(0);
}
fs.mkdirSync(agentDest, { recursive: true });
fs.copyFileSync(agent[0], path.join(agentDest, 'liblayerscope_agent.so'));
for (const pkg of ['layerscope_agent', 'boot']) {
  fs.cpSync(path.join(agent[1], pkg), path.join(agentDest, 'python', pkg), {
    recursive: true, filter: (p) => path.basename(p) !== '__pycache__' && !p.endsWith('.pyc'),
  });
}
console.log('copy-binary: ' + path.dirname(agent[0]) + ' + ' + agent[1] + ' -> lib/layerscope (the Python agent)');
