// The processes below a pid, read from /proc, for tests that must show a whole tree (a sandbox's
// bwrap, its init and the command or engine inside) is gone after a kill, not just its root.
import { readdirSync, readFileSync } from "node:fs";
import { isRunning } from "./ports.ts";

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses): state, then ppid.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

/** The command line of `pid`, its arguments joined by spaces ("" once it is gone). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/** Every living descendant of `root` (children, their children...), as seen from this pid namespace. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const ppid = parentOf(pid);
    if (ppid !== null) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (isRunning(pid)) out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Poll until `done()` holds or `deadlineMs` passes (a safety net on a busy machine, not a speed test); returns whether it held. */
export async function waitFor(done: () => boolean, deadlineMs = 15_000): Promise<boolean> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (done()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return done();
}
