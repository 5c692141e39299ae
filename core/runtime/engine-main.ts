// An engine process: holds the isolates of the plugins the host placed in it, one runner per slot.
// It runs apart from the host because some hostile allocations make V8 abort, hang or segfault the
// whole process (docs/security.md), and it holds nothing worth stealing: no grants, an empty
// environment, and (under bubblewrap) no network and a read-only view of only Node, warden and its
// plugins' directories. Every capability call is forwarded to the host, which checks, audits and
// performs it. The host supervises the engine and replaces it if it dies; the host never dies.
import { writeSync } from "node:fs";
import { Socket } from "node:net";
import { ENGINE_CHANNEL_FD } from "../os-sandbox/engine-sandbox.ts";
import { LineChannel } from "../sys/line-channel.ts";
import type { FromEngine, FromRunner, ToEngine } from "./protocol.ts";
import { TurnBatch } from "./turn-batch.ts";
import { createSandboxRunner, type SandboxRunner } from "./runner.ts";

const runners = new Map<number, SandboxRunner>();

// The crossing marker (fd 4, a file the host reads when the engine is gone): the slot whose
// isolate this thread is entering, written at offset 0 before the crossing. Crossings are
// synchronous, so if V8 aborts or the process crashes mid-crossing, the number there names the
// plugin to blame, not its neighbours. Leaving writes 0 at the end of the turn, after the turn's
// messages went out: off the host's critical path, and once for a turn of many crossings.
const MARKER_FD = 4;
const marker = Buffer.alloc(4);
let markerOpen = true;
let written = 0;
let depth = 0;
function writeMarker(slot: number): void {
  if (!markerOpen || written === slot) return;
  marker.writeUInt32LE(slot, 0);
  try {
    writeSync(MARKER_FD, marker, 0, 4, 0);
    written = slot;
  } catch {
    markerOpen = false;
  }
}
function mark(slot: number, inside: boolean): void {
  if (inside) {
    depth++;
    writeMarker(slot);
  } else {
    depth = Math.max(0, depth - 1);
    outbox.schedule();
  }
}

// The channel to the host (core/sys/line-channel.ts). The host is trusted, and its largest
// messages (a file's contents, a response body, an entry's input) are bounded by the limits it
// applies before sending, so this side's reader needs no bound of its own.
const channel = new LineChannel(new Socket({ fd: ENGINE_CHANNEL_FD, readable: true, writable: true }), Number.POSITIVE_INFINITY, {
  // The host sends one message, or the messages of one of its turns as an array.
  onMessage: (raw) => {
    if (Array.isArray(raw)) for (const m of raw) receive(m);
    else receive(raw);
  },
  onViolation: (reason) => {
    process.stderr.write(`warden engine: the host's channel sent ${reason}\n`);
    process.exit(70);
  },
  // The host closed the channel (close(), or it is gone): nothing more will be asked.
  onClose: () => process.exit(0),
});

// What this engine sends in one turn goes to the host as one message (turn-batch.ts).
const outbox = new TurnBatch<FromEngine>(
  (payload) => channel.send(payload),
  () => {
    if (depth === 0) writeMarker(0);
  },
);

function runnerFor(slot: number): SandboxRunner {
  let runner = runners.get(slot);
  if (runner === undefined) {
    runner = createSandboxRunner(
      (msg: FromRunner) => void outbox.push({ ...msg, slot }),
      (message) => {
        // An isolate in an unknown state shares this process with others: nothing here can be trusted.
        process.stderr.write(`warden engine: catastrophic isolate error in slot ${slot}: ${message}\n`);
        process.exit(70);
      },
      undefined,
      (inside) => mark(slot, inside),
    );
    runners.set(slot, runner);
  }
  return runner;
}

function receive(raw: unknown): void {
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
}
