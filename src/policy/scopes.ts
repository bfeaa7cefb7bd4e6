/**
 * Local scopes as OPA's compiler sees them: a comprehension body and an `every` body are scopes
 * of their own, so `x := 1; y := [x | x := 2]` declares a second `x` that shadows the first
 * inside the comprehension (OPA evaluates it; a flat scope would call it a redeclaration).
 * Before compiling, each variable declared inside such a body (`:=`, `some`) is renamed to a
 * fresh name throughout that body, which gives the shadowing without scope-aware lookups later.
 */
import type { Literal, Module, Term } from "./ast.js";

/** Marker between a variable's name and its scope suffix; stripped again in error messages. */
export const SCOPE_MARK = "$s";

function patternVars(t: Term): string[] {
  if (t.k === "var") return [t.name];
  if (t.k === "array") return t.items.flatMap(patternVars);
  if (t.k === "object") return t.entries.flatMap(([, v]) => patternVars(v));
  return [];
}

function declaredIn(body: Literal[]): string[] {
  const names = body.flatMap((lit) => {
    if (lit.k === "assign") return patternVars(lit.lhs);
    if (lit.k === "someDecl") return lit.names;
    if (lit.k === "someIn") return lit.key === undefined ? [lit.value] : [lit.key, lit.value];
    return [];
  });
  return [...new Set(names)].filter((n) => !n.startsWith("_$"));
}

/** Renames every occurrence of variable `from` inside `node` (terms and declaring literals). */
function rename(node: unknown, from: string, to: string): void {
  if (Array.isArray(node)) {
    for (const x of node) rename(x, from, to);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const o = node as Record<string, unknown>;
  if (o["k"] === "var" && o["name"] === from) o["name"] = to;
  if (o["k"] === "someDecl")
    o["names"] = (o["names"] as string[]).map((n) => (n === from ? to : n));
  if (o["k"] === "someIn" || o["k"] === "every") {
    if (o["key"] === from) o["key"] = to;
    if (o["value"] === from) o["value"] = to;
  }
  for (const [key, v] of Object.entries(o))
    if (key !== "pos" && typeof v === "object") rename(v, from, to);
}

/**
 * Gives the variables declared in comprehension and `every` bodies fresh names (in place).
 *
 * @example
 * ```ts
 * scopeLocals(parseModule("package model\nallow if { x := 1; y := [x | x := 2] }"));
 * ```
 */
export function scopeLocals(mod: Module): void {
  let n = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const x of node) visit(x);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const o = node as Record<string, unknown>;
    if (o["k"] === "compr" || o["k"] === "every") {
      const body = o["body"] as Literal[];
      for (const name of declaredIn(body)) {
        const fresh = `${name}${SCOPE_MARK}${n++}`;
        if (o["k"] === "compr") rename([o["head"], o["key"], body], name, fresh);
        else rename(body, name, fresh);
      }
    }
    for (const [key, v] of Object.entries(o)) if (key !== "pos" && typeof v === "object") visit(v);
  };
  visit(mod.rules);
}
