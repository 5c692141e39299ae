// Resident memory of process trees, read from Linux's /proc. An engine's pid is its child process's:
// under the OS sandbox that is bwrap, whose own RSS is tiny, while the engine's Node runs two
// processes below it; so an engine's memory is the sum over the pid and its descendants.
import { readdir, readFile } from "node:fs/promises";

/** The parent of `pid` from /proc/<pid>/stat, or null once it is gone. */
async function parentOf(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (in parentheses) may itself hold spaces and parentheses: fields follow the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/** VmRSS of `pid` in bytes (0 for a process gone meanwhile or without one, as a zombie). */
async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

/** The children of every process, from one pass over /proc. */
async function childrenMap(): Promise<Map<number, number[]>> {
  const pids = (await readdir("/proc")).filter((n) => /^\d+$/.test(n)).map(Number);
  const parents = await Promise.all(pids.map(parentOf));
  const children = new Map<number, number[]>();
  pids.forEach((pid, i) => {
    const ppid = parents[i];
    if (ppid !== null && ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  });
  return children;
}

/** The resident bytes of each root's process tree (root and descendants); a root that is gone is left out. Empty where /proc is not Linux's. */
export async function treeRssBytes(roots: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (roots.length === 0) return out;
  let children: Map<number, number[]>;
  try {
    children = await childrenMap();
  } catch {
    return out;
  }
  for (const root of roots) {
    const tree: number[] = [];
    const stack = [root];
    // A pid seen twice would be a cycle only if pids were reused mid-scan: stop there.
    const seen = new Set<number>();
    while (stack.length > 0) {
      const pid = stack.pop() as number;
      if (seen.has(pid)) continue;
      seen.add(pid);
      tree.push(pid);
      stack.push(...(children.get(pid) ?? []));
    }
    const [own, ...rest] = await Promise.all(tree.map(rssOf));
    if (own === undefined || own === 0) continue;
    out.set(
      root,
      rest.reduce((sum, n) => sum + n, own),
    );
  }
  return out;
}
