/* Unit tests of liveModules.ts: the module table of a running program, built from the
 * adapter's `layerscopeModules` event bodies (appended chunks, several roots, a restart that
 * reports again from 0), malformed bodies refused whole with the field named. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ModuleTable } from '../src/liveModules';
import { LayerNode } from '../src/modelTree';

/* "name(Type)[children]" of a tree, to compare whole shapes at once. */
function show(nodes: LayerNode[]): string {
  return nodes.map((n) => `${n.module.name || "''"}(${n.module.type})` +
    (n.children.length ? `[${show(n.children)}]` : '')).join(' ');
}

test('chunks append to the table; parents may be in earlier chunks; several roots', () => {
  const t = new ModuleTable();
  // What the agent reports for a model called first: the root "" and its named_modules().
  t.apply({ start: 0, modules: [
    { name: '', type: 'Net', parent: -1 },
    { name: 'body', type: 'Sequential', parent: 0 },
    { name: 'body.0', type: 'Linear', parent: 1 },
    { name: 'body.1', type: 'ReLU', parent: 1 },
  ] });
  assert.equal(show(t.tree()), "''(Net)[body(Sequential)[body.0(Linear) body.1(ReLU)]]");
  // Later: a module of the model revealed on its own, then a loss module called as a second root.
  t.apply({ start: 4, modules: [{ name: 'head', type: 'Linear', parent: 0 }] });
  t.apply({ start: 5, modules: [
    { name: 'CrossEntropyLoss', type: 'CrossEntropyLoss', parent: -1 },
    { name: 'CrossEntropyLoss.inner', type: 'Identity', parent: 5 },
  ] });
  assert.equal(t.size, 7);
  const roots = t.tree();
  assert.equal(show(roots),
    "''(Net)[body(Sequential)[body.0(Linear) body.1(ReLU)] head(Linear)] CrossEntropyLoss(CrossEntropyLoss)[CrossEntropyLoss.inner(Identity)]");
  // depths follow the parents; keys are table indices (ids stay stable as the table grows)
  assert.deepEqual([roots[0].module.depth, roots[0].children[0].children[1].module.depth, roots[1].children[0].module.depth], [0, 2, 1]);
  assert.deepEqual([roots[0].children[1].key, roots[1].key], ['4', '5']);
  assert.equal(roots[0].children[0].module.params, undefined, 'a running program reports no parameter counts');
});

test('a body starting before the end replaces the table from there (restart)', () => {
  const t = new ModuleTable();
  t.apply({ start: 0, modules: [{ name: '', type: 'A', parent: -1 }, { name: 'x', type: 'Linear', parent: 0 }] });
  const before = t.tree();
  t.apply({ start: 0, modules: [{ name: '', type: 'B', parent: -1 }] });
  assert.equal(show(t.tree()), "''(B)");
  assert.notEqual(t.tree(), before, 'the tree is rebuilt after a change');
  assert.equal(t.tree(), t.tree(), 'and kept while nothing changes');
});

test('malformed bodies are refused whole and name the field', () => {
  const t = new ModuleTable();
  t.apply({ start: 0, modules: [{ name: '', type: 'Net', parent: -1 }] });
  assert.throws(() => t.apply(null), /body is not an object/);
  assert.throws(() => t.apply({ start: -1, modules: [] }), /start is not a non-negative integer/);
  assert.throws(() => t.apply({ start: 3, modules: [] }), /start 3 is past the end of the table \(1 modules known\)/);
  assert.throws(() => t.apply({ start: 1, modules: {} }), /modules is not an array/);
  assert.throws(() => t.apply({ start: 1, modules: [{ name: 'a', type: 'L', parent: 0 }, { name: 7, type: 'L', parent: 0 }] }),
    /modules\[1\]\.name/);
  assert.throws(() => t.apply({ start: 1, modules: [{ name: 'a', parent: 0 }] }), /modules\[0\]\.type/);
  // a parent must come before its child: its own index or a later one is refused
  assert.throws(() => t.apply({ start: 1, modules: [{ name: 'a', type: 'L', parent: 1 }] }), /modules\[0\]\.parent/);
  assert.throws(() => t.apply({ start: 1, modules: [{ name: 'a', type: 'L', parent: -2 }] }), /modules\[0\]\.parent/);
  assert.throws(() => t.apply({ start: 1, modules: [{ name: 'a', type: 'L', parent: 0.5 }] }), /modules\[0\]\.parent/);
  assert.equal(show(t.tree()), "''(Net)", 'nothing of a refused body is kept');
});
