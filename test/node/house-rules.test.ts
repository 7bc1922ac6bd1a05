/**
 * The house rules of src/ (issue 21), checked on the source itself so a change that breaks one
 * fails here with the place to fix: no runtime import cycle between files, no two folders that
 * import each other at runtime, small files and small functions.
 */
import fs from "node:fs";
import path from "node:path";
import { parseSync } from "oxc-parser";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../../src");
const MAX_FILE_LINES = 450;
const MAX_ORCHESTRATOR_LINES = 400;
const MAX_FUNCTION_LINES = 80;
/** Generated files, and the dashboard's views (issue 21 exempts them from the function rule). */
const GENERATED = /worker-configuration\.d\.ts$/;
const FUNCTION_RULE_EXEMPT = /^dashboard\/client\/views\//;

/**
 * Known offenders, each to be worked off: the test fails when one is added, and when one listed
 * here no longer offends (so the list only shrinks).
 */
const KNOWN_LONG_FILES: string[] = [];
const KNOWN_LONG_FUNCTIONS: string[] = [];

interface SourceFile {
  rel: string;
  text: string;
  program: ReturnType<typeof parseSync>;
}

function sourceFiles(): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ts") && !GENERATED.test(entry.name)) {
        const text = fs.readFileSync(full, "utf8");
        out.push({ rel: path.relative(SRC, full), text, program: parseSync(full, text) });
      }
    }
  };
  walk(SRC);
  return out;
}

const files = sourceFiles();
const known = new Set(files.map((f) => f.rel));

/** Resolves a relative specifier to a file under src/, or null for a package. */
function resolve(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const base = path.normalize(path.join(path.dirname(from), spec));
  for (const candidate of [base, `${base}.ts`, path.join(base, "index.ts")]) if (known.has(candidate)) return candidate;
  return null;
}

/** The files a file imports at runtime: `import type` and `export type` are erased, everything else stays. */
function runtimeImports(file: SourceFile): string[] {
  const out: string[] = [];
  const statementText = (start: number) => file.text.slice(start, start + 12);
  for (const imp of file.program.module.staticImports) {
    if (statementText(imp.start).startsWith("import type")) continue;
    const target = resolve(file.rel, imp.moduleRequest.value);
    if (target) out.push(target);
  }
  for (const exp of file.program.module.staticExports) {
    if (statementText(exp.start).startsWith("export type")) continue;
    for (const entry of exp.entries) {
      const target = entry.moduleRequest ? resolve(file.rel, entry.moduleRequest.value) : null;
      if (target) out.push(target);
    }
  }
  for (const dyn of file.program.module.dynamicImports) {
    const spec = file.text.slice(dyn.moduleRequest.start, dyn.moduleRequest.end).replace(/^["'`]|["'`]$/g, "");
    const target = resolve(file.rel, spec);
    if (target) out.push(target);
  }
  return [...new Set(out)];
}

const graph = new Map(files.map((f) => [f.rel, runtimeImports(f)]));

/** Tarjan's strongly connected components with more than one member (or a self-loop): the cycles. */
function cycles(edges: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const meta = new Map<string, { index: number; low: number; onStack: boolean }>();
  const found: string[][] = [];
  const visit = (v: string) => {
    meta.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!meta.has(w)) {
        visit(w);
        meta.get(v)!.low = Math.min(meta.get(v)!.low, meta.get(w)!.low);
      } else if (meta.get(w)!.onStack) meta.get(v)!.low = Math.min(meta.get(v)!.low, meta.get(w)!.index);
    }
    if (meta.get(v)!.low === meta.get(v)!.index) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        meta.get(w)!.onStack = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!meta.has(v)) visit(v);
  return found;
}

/** Every function-like node (declarations, expressions, arrows, methods) with its name and line span. */
function functions(file: SourceFile): { name: string; lines: number }[] {
  const lineOf = (offset: number) => file.text.slice(0, offset).split("\n").length;
  const out: { name: string; lines: number }[] = [];
  const walk = (node: unknown, name: string) => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach((n) => walk(n, name));
    const n = node as Record<string, unknown> & { type?: string; start?: number; end?: number };
    let here = name;
    if (n.type === "MethodDefinition" || n.type === "PropertyDefinition" || n.type === "Property") here = keyName(n.key) ?? name;
    if (n.type === "VariableDeclarator") here = keyName(n.id) ?? name;
    if ((n.type === "FunctionDeclaration" || n.type === "FunctionExpression" || n.type === "ArrowFunctionExpression") && n.body) {
      const fnName = keyName(n.id) ?? here;
      out.push({ name: fnName, lines: lineOf(n.end!) - lineOf(n.start!) + 1 });
      here = fnName;
    }
    for (const [key, value] of Object.entries(n)) if (key !== "parent" && value && typeof value === "object") walk(value, here);
  };
  walk(file.program.program, "<module>");
  return out;
}

function keyName(node: unknown): string | undefined {
  const n = node as { type?: string; name?: string; value?: unknown } | null | undefined;
  if (!n) return undefined;
  if (n.type === "Identifier" || n.type === "PrivateIdentifier") return n.name;
  if (typeof n.value === "string") return n.value;
  return undefined;
}

describe("the house rules of src/", () => {
  it("has no runtime import cycle between files", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("has no two folders importing each other at runtime", () => {
    const folderEdges = new Set<string>();
    for (const [from, targets] of graph) for (const to of targets) if (path.dirname(from) !== path.dirname(to)) folderEdges.add(`${path.dirname(from)} -> ${path.dirname(to)}`);
    const both = [...folderEdges].filter((edge) => {
      const [a, b] = edge.split(" -> ");
      return folderEdges.has(`${b} -> ${a}`);
    });
    expect(both).toEqual([]);
  });

  it("keeps objects and workflows apart: they share only the protocol module", () => {
    const crossing = [...graph].flatMap(([from, targets]) =>
      targets.filter((to) => (from.startsWith("objects/") && to.startsWith("workflows/")) || (from.startsWith("workflows/") && to.startsWith("objects/"))).map((to) => `${from} -> ${to}`),
    );
    expect(crossing).toEqual([]);
  });

  it(`has no file over ${MAX_FILE_LINES} lines (the Orchestrator ${MAX_ORCHESTRATOR_LINES})`, () => {
    const long = files
      .filter((f) => {
        const lines = f.text.split("\n").length;
        return lines > (f.rel === "objects/orchestrator/orchestrator.ts" ? MAX_ORCHESTRATOR_LINES : MAX_FILE_LINES);
      })
      .map((f) => f.rel)
      .sort();
    expect(long).toEqual([...KNOWN_LONG_FILES].sort());
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines outside the dashboard's views`, () => {
    const long = files
      .filter((f) => !FUNCTION_RULE_EXEMPT.test(f.rel))
      .flatMap((f) => functions(f).filter((fn) => fn.lines > MAX_FUNCTION_LINES).map((fn) => `${f.rel}#${fn.name}`))
      .sort();
    expect(long).toEqual([...KNOWN_LONG_FUNCTIONS].sort());
  });
});
