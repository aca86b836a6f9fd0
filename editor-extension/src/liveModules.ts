/* liveModules.ts: the module table of a running PyTorch program, as the debug adapter reports
 * it while the program reveals its modules, turned into the tree the Model Layers view shows.
 * Pure: no `vscode` import, so the unit tests run under plain node.
 *
 * Contract (dap/debugger.c on_modules, docs/protocol.md): the custom DAP event
 * `layerscopeModules` with body {start, modules: [{name, type, parent}]}. The table is
 * append-only: a body extends it from index `start`; `parent` is an index into the table
 * (always an earlier entry), -1 for a root. A program may have several roots (the model, a
 * loss module called on its own: named by its class). The names are the named_modules()
 * paths, the same names function breakpoints match.
 *
 * A body starting before the end replaces the table from there (a restarted program reports
 * its modules again from 0); one starting after the end would leave entries unknown and is
 * refused whole, as is a body with a malformed entry, with an error naming the field. */
import { LayerNode, ModuleInfo } from './modelTree';

export interface LiveModule {
  name: string;     /* "model.layers.0.mlp"; "" for the first root */
  type: string;     /* class name: "LlamaMLP" */
  parent: number;   /* index of the parent in the table, -1 for a root */
}

export class ModuleTable {
  private readonly entries: LiveModule[] = [];
  private cache: LayerNode[] | undefined;

  get size(): number { return this.entries.length; }

  /* Applies one event body; throws (leaving the table as it was) when it is malformed. */
  apply(body: unknown): void {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('layerscopeModules: body is not an object');
    const b = body as Record<string, unknown>;
    const start = b.start;
    if (typeof start !== 'number' || !Number.isInteger(start) || start < 0)
      throw new Error('layerscopeModules: start is not a non-negative integer');
    if (start > this.entries.length)
      throw new Error(`layerscopeModules: start ${start} is past the end of the table (${this.entries.length} modules known)`);
    if (!Array.isArray(b.modules)) throw new Error('layerscopeModules: modules is not an array');
    const add: LiveModule[] = b.modules.map((m: unknown, i: number) => {
      if (typeof m !== 'object' || m === null) throw new Error(`layerscopeModules: modules[${i}] is not an object`);
      const mm = m as Record<string, unknown>;
      if (typeof mm.name !== 'string') throw new Error(`layerscopeModules: modules[${i}].name is not a string`);
      if (typeof mm.type !== 'string') throw new Error(`layerscopeModules: modules[${i}].type is not a string`);
      const p = mm.parent;
      if (typeof p !== 'number' || !Number.isInteger(p) || p < -1 || p >= start + i)
        throw new Error(`layerscopeModules: modules[${i}].parent is not -1 or the index of an earlier module`);
      return { name: mm.name, type: mm.type, parent: p };
    });
    this.entries.length = start;
    this.entries.push(...add);
    this.cache = undefined;
  }

  /* The table as nested nodes, children in table order; rebuilt only after a change. */
  tree(): LayerNode[] {
    if (this.cache) return this.cache;
    const nodes: LayerNode[] = [];
    const roots: LayerNode[] = [];
    this.entries.forEach((e, i) => {
      const up = e.parent >= 0 ? nodes[e.parent] : undefined;
      const module: ModuleInfo = { name: e.name, type: e.type, depth: up ? up.module.depth + 1 : 0, line: null };
      const node: LayerNode = { module, children: [], key: String(i) };
      nodes.push(node);
      (up ? up.children : roots).push(node);
    });
    this.cache = roots;
    return roots;
  }
}
