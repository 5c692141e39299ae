// Every test file must leave nothing running: a host, plugin, engine, console server or watcher a
// test starts is closed by that test. `npm run test:dist` loads this module into every test file's
// process (node --import), where it watches what is left once the file's tests and their own
// after-hooks are over: within a few seconds the process must have no child process (an engine, bubblewrap,
// a command a plugin ran), no referenced timer, socket, server, watcher or process handle, and no
// plugin sandbox (isolate) in this process that was not disposed.
// Otherwise the file fails, naming what is left.
import { after } from "node:test";
import { readdirSync, readFileSync } from "node:fs";
import { liveSandboxes } from "../../isolate/index.ts";

/** Handles that mean something a test started is still running (stdio pipes are the runner's own). */
const LIVE_HANDLES = new Set(["Timeout", "Immediate", "ProcessWrap", "TCPSocketWrap", "TCPServerWrap", "UDPWrap", "FSEventWrap", "StatWatcher", "SignalWrap"]);

/** How long a file's leftovers get to finish closing (an engine exits after its last tenant left). */
const GRACE_MS = 5000;

/** This process's child processes, with their command lines. */
function childProcesses(): string[] {
  const found: string[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync("/proc/self/task");
  } catch {
    return found; // not Linux: no /proc to read
  }
  for (const task of tasks) {
    let pids: string[] = [];
    try {
      pids = readFileSync(`/proc/self/task/${task}/children`, "utf8").split(" ").filter(Boolean);
    } catch {
      continue;
    }
    for (const pid of pids) {
      let cmd = "?";
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim().slice(0, 200);
      } catch {
        continue; // gone meanwhile
      }
      // A zombie that has exited but not yet been reaped has an empty command line.
      if (cmd !== "") found.push(`process ${pid}: ${cmd}`);
    }
  }
  return found;
}

/** What is still running now, described; empty when nothing is. */
function leftovers(): string[] {
  const handles = process.getActiveResourcesInfo().filter((h) => LIVE_HANDLES.has(h));
  const counts = new Map<string, number>();
  for (const h of handles) counts.set(h, (counts.get(h) ?? 0) + 1);
  const sandboxes = liveSandboxes();
  return [...childProcesses(), ...[...counts].map(([h, n]) => `${n} × ${h}`), ...(sandboxes > 0 ? [`${sandboxes} in-process plugin sandbox(es) not disposed`] : [])];
}

// This hook runs before the file's own after-hooks (it was registered first), which may be what
// closes a host or a server: so it only starts a watch, on unreferenced timers that never keep the
// process alive themselves. If the process has nothing left, it exits and the watch with it; if
// something still runs when the grace period is over, the file fails (exit status 1) with its name.
after(() => {
  const deadline = Date.now() + GRACE_MS;
  const look = (): void => {
    const left = leftovers();
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      process.stderr.write(
        `leak check: ${GRACE_MS} ms after this file's tests ended, still running: ${left.join("; ")}. Close every host, plugin, server and watcher a test starts (in its after hook or a finally).\n`,
      );
      process.exit(1);
    }
    setTimeout(look, 50).unref();
  };
  setTimeout(look, 0).unref();
});
