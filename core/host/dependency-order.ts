// PURE dependency resolution (MAI-25, MAI-26; AOS-07 gets the order backwards, we do not): a
// topological order with dependencies first. A missing or version-incompatible dependency, or a
// cycle, fails that plugin and every plugin that depends on it, each with its own reason; plugins
// unrelated to the failure are still ordered.
import semver from "semver";

/** What the resolver needs of one plugin. */
export type DependencyNode = { readonly id: string; readonly version: string; readonly dependencies: Readonly<Record<string, string>> };

/** The load order, and the plugins that cannot load with why. */
export type DependencyPlan = { readonly order: readonly string[]; readonly failed: ReadonlyMap<string, string> };

/** Order `nodes` so that every plugin comes after its dependencies. */
export function planDependencies(nodes: readonly DependencyNode[]): DependencyPlan {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const failed = new Map<string, string>();

  // Direct problems: missing or incompatible dependencies.
  for (const n of nodes) {
    for (const [dep, range] of Object.entries(n.dependencies)) {
      const d = byId.get(dep);
      if (d === undefined) failed.set(n.id, `needs ${dep} ${range}, which is not installed`);
      else if (!semver.satisfies(d.version, range, { includePrerelease: true })) failed.set(n.id, `needs ${dep} ${range}, but ${dep} is ${d.version}`);
      if (failed.has(n.id)) break;
    }
  }

  // Cycles: depth-first search; every plugin on a cycle fails, naming the cycle.
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (id: string): void => {
    state.set(id, "visiting");
    stack.push(id);
    for (const dep of Object.keys(byId.get(id)?.dependencies ?? {})) {
      if (!byId.has(dep)) continue;
      if (state.get(dep) === "visiting") {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep];
        for (const member of cycle.slice(0, -1)) if (!failed.has(member)) failed.set(member, `is part of a dependency cycle: ${cycle.join(" → ")}`);
      } else if (state.get(dep) === undefined) visit(dep);
    }
    stack.pop();
    state.set(id, "done");
  };
  for (const id of [...byId.keys()].sort()) if (state.get(id) === undefined) visit(id);

  // Dependents of failed plugins fail too, transitively, naming the dependency that failed.
  let changed = true;
  while (changed) {
    changed = false;
    for (const n of nodes) {
      if (failed.has(n.id)) continue;
      const bad = Object.keys(n.dependencies).find((d) => failed.has(d));
      if (bad !== undefined) {
        failed.set(n.id, `depends on ${bad}, which failed: ${failed.get(bad)}`);
        changed = true;
      }
    }
  }

  // Kahn's algorithm over the rest, ties broken by id so the order is stable.
  const remaining = nodes.filter((n) => !failed.has(n.id));
  const indegree = new Map(remaining.map((n) => [n.id, Object.keys(n.dependencies).length]));
  const dependents = new Map<string, string[]>();
  for (const n of remaining) for (const d of Object.keys(n.dependencies)) dependents.set(d, [...(dependents.get(d) ?? []), n.id]);
  const ready = remaining
    .filter((n) => indegree.get(n.id) === 0)
    .map((n) => n.id)
    .sort();
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ready.shift() as string;
    order.push(id);
    for (const dep of dependents.get(id) ?? []) {
      const left = (indegree.get(dep) ?? 0) - 1;
      indegree.set(dep, left);
      if (left === 0) {
        ready.push(dep);
        ready.sort();
      }
    }
  }
  return { order, failed };
}

/** Every plugin that depends on `id`, directly or not, in an order where dependencies come first. */
export function dependentsOf(nodes: readonly DependencyNode[], id: string): string[] {
  const plan = planDependencies(nodes);
  const set = new Set<string>([id]);
  for (const n of plan.order) {
    if (Object.keys(nodes.find((x) => x.id === n)?.dependencies ?? {}).some((d) => set.has(d))) set.add(n);
  }
  set.delete(id);
  return plan.order.filter((x) => set.has(x));
}
