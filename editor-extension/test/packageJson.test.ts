/* packageJson.test.ts: the debugger contribution in package.json, which VS Code turns into
 * the launch.json schema and IntelliSense: every attribute schema uses JSON Schema keywords
 * with values of the right kind (a wrong one silently disables validation of that attribute
 * in VS Code), the program target's attributes are there with the types the adapter checks,
 * and every configuration snippet, as VS Code would insert it, is valid under the schema of
 * its request. The small validator below covers the keywords package.json uses; an unknown
 * keyword fails the test rather than being skipped. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';

type Schema = Record<string, unknown>;
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
const dbg = pkg.contributes.debuggers.find((d: { type: string }) => d.type === 'layerscope');

const TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object', 'null'];

/* Problems of a schema, with their JSON path; [] when it is well formed. */
function schemaProblems(s: unknown, at: string): string[] {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return [`${at}: a schema must be an object`];
  const out: string[] = [];
  const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  for (const [k, v] of Object.entries(s as Schema)) {
    const p = `${at}.${k}`;
    switch (k) {
      case 'type': if (!(typeof v === 'string' && TYPES.includes(v))) out.push(`${p}: not a JSON Schema type`); break;
      case 'description': case 'markdownDescription': if (typeof v !== 'string') out.push(`${p}: not a string`); break;
      case 'default': break;
      case 'minimum': case 'maximum': if (!isNum(v)) out.push(`${p}: not a number`); break;
      case 'minItems': case 'maxItems':
        if (!(isNum(v) && Number.isInteger(v) && (v as number) >= 0)) out.push(`${p}: not a count`); break;
      case 'enum': if (!Array.isArray(v) || v.length === 0) out.push(`${p}: not a non-empty array`); break;
      case 'required':
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) out.push(`${p}: not an array of names`); break;
      case 'items': case 'additionalProperties':
        if (typeof v !== 'boolean') out.push(...schemaProblems(v, p)); break;
      case 'properties':
        if (typeof v !== 'object' || v === null) out.push(`${p}: not an object`);
        else for (const [n, sub] of Object.entries(v)) out.push(...schemaProblems(sub, `${p}.${n}`));
        break;
      case 'anyOf': case 'oneOf': case 'allOf':
        if (!Array.isArray(v) || v.length === 0) out.push(`${p}: not a non-empty array`);
        else v.forEach((sub, i) => out.push(...schemaProblems(sub, `${p}[${i}]`)));
        break;
      default: out.push(`${p}: keyword not known to this test`);
    }
  }
  const o = s as Schema;
  if (o.default !== undefined && o.type) out.push(...validate(o.default, o, `${at}.default`));
  return out;
}

/* Errors of a value under a schema (the keywords above). */
function validate(v: unknown, s: Schema, at: string): string[] {
  const out: string[] = [];
  const kind = Array.isArray(v) ? 'array' : v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v;
  if (s.type && !(s.type === kind || (s.type === 'number' && kind === 'integer'))) return [`${at}: ${kind}, not ${s.type}`];
  if (s.enum && !(s.enum as unknown[]).includes(v)) out.push(`${at}: not one of ${JSON.stringify(s.enum)}`);
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) out.push(`${at}: below ${s.minimum}`);
    if (typeof s.maximum === 'number' && v > s.maximum) out.push(`${at}: above ${s.maximum}`);
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) out.push(`${at}: fewer than ${s.minItems} items`);
    if (s.items) v.forEach((x, i) => out.push(...validate(x, s.items as Schema, `${at}[${i}]`)));
  }
  if (kind === 'object' || s.properties || s.required) {
    const o = v as Record<string, unknown>;
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in o)) out.push(`${at}: missing "${r}"`);
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const [k, x] of Object.entries(o ?? {})) {
      if (props[k]) out.push(...validate(x, props[k], `${at}.${k}`));
      else if (s.additionalProperties === false) out.push(`${at}: "${k}" is not allowed`);
      else if (typeof s.additionalProperties === 'object') out.push(...validate(x, s.additionalProperties as Schema, `${at}.${k}`));
    }
  }
  if (s.anyOf && !(s.anyOf as Schema[]).some((b) => validate(v, b, at).length === 0))
    out.push(`${at}: matches none of anyOf ${JSON.stringify(s.anyOf)}`);
  return out;
}

/* The schema VS Code makes of configurationAttributes[request] (Debugger.getSchemaAttributes):
 * type, request and name are added and required, nothing else may appear. */
function vscodeSchema(request: string): Schema {
  const a = dbg.configurationAttributes[request] as Schema;
  return { ...a, type: 'object', additionalProperties: false,
    required: ['type', 'request', 'name', ...((a.required as string[]) ?? [])],
    properties: { ...(a.properties as Schema), type: { enum: ['layerscope'] }, request: { enum: [request] }, name: { type: 'string' } } };
}

/* A snippet body as VS Code inserts it: strings starting with ^ are raw JSON text, \$ is a
 * literal $, ${1:text} is a placeholder that leaves its text. */
function inserted(body: unknown): unknown {
  const text = JSON.stringify(body).replace(/"\^((?:[^"\\]|\\.)*)"/g, (_m, raw: string) => JSON.parse(`"${raw}"`))
    .replace(/\$\{\d+:([^}]*)\}/g, '$1').replace(/\\\$/g, '$');
  return JSON.parse(text);
}

test('configurationAttributes are well-formed JSON Schema', () => {
  for (const request of ['launch', 'attach']) {
    assert.ok(dbg.configurationAttributes[request], `${request} attributes`);
    assert.deepEqual(schemaProblems(dbg.configurationAttributes[request], request), []);
  }
});

test('the program target\'s attributes have the types the adapter checks', () => {
  const L = dbg.configurationAttributes.launch.properties;
  assert.equal(L.program.type, 'string');
  assert.equal(L.module.type, 'string');
  assert.deepEqual(L.args, { ...L.args, type: 'array', items: { type: 'string' } });
  assert.deepEqual(L.env.type, 'object');
  assert.deepEqual(L.env.additionalProperties, { type: 'string' });
  assert.equal(L.python.type, 'string');
  assert.equal(L.cwd.type, 'string');
  assert.equal(L.connect, undefined, 'connect is refused in a launch by the adapter');
  const A = dbg.configurationAttributes.attach;
  assert.equal(A.properties.connect.type, 'string');
  assert.deepEqual(A.required, ['connect']);
  for (const k of ['program', 'module', 'args', 'env', 'python', 'connect'])
    assert.ok(((L[k] ?? A.properties[k]).description ?? '').length > 20, `${k} is documented`);
  // a launch needs one target: config, program or module
  const launch = vscodeSchema('launch');
  assert.deepEqual(validate({ type: 'layerscope', request: 'launch', name: 'x', program: 't.py', args: ['--lr', '1'], env: { A: '1' } }, launch, 'c'), []);
  assert.deepEqual(validate({ type: 'layerscope', request: 'launch', name: 'x', config: 'c.json' }, launch, 'c'), []);
  assert.notDeepEqual(validate({ type: 'layerscope', request: 'launch', name: 'x', seed: 1 }, launch, 'c'), []);
  assert.notDeepEqual(validate({ type: 'layerscope', request: 'launch', name: 'x', program: 't.py', env: { A: 1 } }, launch, 'c'), []);
  assert.notDeepEqual(validate({ type: 'layerscope', request: 'launch', name: 'x', program: 't.py', args: '--lr 1' }, launch, 'c'), []);
});

test('the debugger claims Python files so F5 on a .py can pick it', () => {
  assert.deepEqual(dbg.languages, ['json', 'python']);
  assert.ok(pkg.activationEvents.includes('onDebugResolve:layerscope'));
  assert.ok(pkg.activationEvents.includes('onDebugDynamicConfigurations:layerscope'));
});

test('every configuration snippet is valid under its request\'s schema', () => {
  const labels = dbg.configurationSnippets.map((s: { label: string }) => s.label);
  assert.ok(labels.includes('layerscope: Debug PyTorch program'), JSON.stringify(labels));
  assert.ok(labels.includes('layerscope: Attach to PyTorch program'), JSON.stringify(labels));
  for (const s of dbg.configurationSnippets) {
    const body = inserted(s.body) as Record<string, unknown>;
    assert.deepEqual(validate(body, vscodeSchema(String(body.request)), s.label), []);
    assert.ok(typeof s.description === 'string' && s.description.length > 0, `${s.label} has a description`);
  }
  const prog = dbg.configurationSnippets.find((s: { label: string }) => s.label === 'layerscope: Debug PyTorch program');
  assert.equal((inserted(prog.body) as Record<string, unknown>).program, '${file}');
  const att = dbg.configurationSnippets.find((s: { label: string }) => s.label === 'layerscope: Attach to PyTorch program');
  assert.equal((inserted(att.body) as Record<string, unknown>).request, 'attach');
  assert.match(String((inserted(att.body) as Record<string, unknown>).connect), /agent\.sock$/);
  for (const c of dbg.initialConfigurations) assert.deepEqual(validate(c, vscodeSchema(c.request), c.name), []);
});

test('the backward breakpoint action is contributed beside the forward one', () => {
  const cmds = pkg.contributes.commands.map((c: { command: string }) => c.command);
  assert.ok(cmds.includes('layerscope.addModuleBackwardBreakpoint'));
  const items = pkg.contributes.menus['view/item/context'].filter((m: { command: string }) => m.command === 'layerscope.addModuleBackwardBreakpoint');
  assert.deepEqual(items.map((m: { group: string }) => m.group).sort(), ['1_debug@2', 'inline@2']);
  assert.ok(items.every((m: { when: string }) => /viewItem == module/.test(m.when)));
});
