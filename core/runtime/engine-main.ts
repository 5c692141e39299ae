// An engine process: holds the isolates of the plugins the host placed in it, one runner per slot.
// It runs apart from the host because some hostile allocations make V8 abort, hang or segfault the
// whole process (docs/security.md), and it holds nothing worth stealing: no grants, an empty
// environment, and (under bubblewrap) no network and a read-only view of only Node, warden and its
// plugins' directories. Every capability call is forwarded to the host, which checks, audits and
// performs it. The host supervises the engine and replaces it if it dies; the host never dies.
import { writeSync } from "node:fs";
import type { FromRunner, ToEngine } from "./protocol.ts";
import { createSandboxRunner, type SandboxRunner } from "./runner.ts";

const runners = new Map<number, SandboxRunner>();

// The crossing marker (fd 4, a file the host reads when the engine is gone): the slot whose
// isolate this thread is entering, or 0 on leaving, written at offset 0. Crossings are synchronous,
// so if V8 aborts or the process crashes mid-crossing, the number there names the plugin to blame,
// not its neighbours.
const MARKER_FD = 4;
const marker = Buffer.alloc(4);
let markerOpen = true;
function mark(slot: number): void {
  if (!markerOpen) return;
  marker.writeUInt32LE(slot, 0);
  try {
    writeSync(MARKER_FD, marker, 0, 4, 0);
  } catch {
    markerOpen = false;
  }
}

function runnerFor(slot: number): SandboxRunner {
  let runner = runners.get(slot);
  if (runner === undefined) {
    runner = createSandboxRunner(
      (msg: FromRunner) => process.send?.({ ...msg, slot }),
      (message) => {
        // An isolate in an unknown state shares this process with others: nothing here can be trusted.
        process.stderr.write(`warden engine: catastrophic isolate error in slot ${slot}: ${message}\n`);
        process.exit(70);
      },
      undefined,
      (inside) => mark(inside ? slot : 0),
    );
    runners.set(slot, runner);
  }
  return runner;
}

process.on("message", (raw) => {
  const msg = raw as ToEngine;
  if (typeof msg !== "object" || msg === null || typeof msg.slot !== "number") return;
  if (msg.t === "free") {
    runners.get(msg.slot)?.dispose();
    runners.delete(msg.slot);
    return;
  }
  // A slot's runner exists from its "load" on; anything else for an unknown slot is stale.
  if (msg.t !== "load" && !runners.has(msg.slot)) return;
  runnerFor(msg.slot).receive(msg);
});
process.on("disconnect", () => process.exit(0));
