// How the host reaches an engine: one interface, two homes. A child engine is a Node process
// spoken to over its channel, newline-delimited JSON on a socket pair (core/sys/line-channel.ts,
// which says why not Node's IPC channel), its stderr watched for V8's fatal out-of-memory report, after
// which the process aborts or hangs for good); an in-process engine is runners in the host's own
// process behind the same messages (isolation "in-process"). The engine never learns anything
// about the host it is not sent, and the host parses whatever comes back as untrusted data.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Duplex } from "node:stream";
import type { Capabilities } from "../../capabilities/index.ts";
import { DEFAULTS } from "../../defaults/index.ts";
import { ENGINE_STDIO } from "../os-sandbox/engine-sandbox.ts";
import { LineChannel } from "../sys/line-channel.ts";
import type { ToEngine } from "./protocol.ts";
import type { DirectResult } from "./runner.ts";
import { TurnBatch } from "./turn-batch.ts";

/**
 * How an engine ended: its exit, whether V8 reported a fatal out-of-memory first, and whether the
 * host ended it for breaking the channel's framing (what it sent; null if it did not).
 */
export type EngineExit = { readonly code: number | null; readonly signal: string | null; readonly oom: boolean; readonly violation: string | null };

/** What a transport reports to its engine. */
export type TransportEvents = {
  /** Anything the engine sent (unparsed, untrusted). */
  readonly onMessage: (raw: unknown) => void;
  /** V8 printed a fatal out-of-memory report: the engine must be ended now. */
  readonly onOom: () => void;
  /** The engine is gone (exactly once). */
  readonly onExit: (exit: EngineExit) => void;
};

/** A live connection to one engine. */
export interface EngineTransport {
  /** The engine's process id (undefined in the host's process). */
  readonly pid: number | undefined;
  /**
   * The engine is the host's own process (isolation "in-process"): there is no process to end when
   * a call misses its deadline, and the runners call the plugins' bridges and take calls directly.
   */
  readonly inHost: boolean;
  /** Calls taken directly (invokeDirect) and still running. */
  readonly directInFlight: number;
  /** The capability bridge the runner in `slot` calls directly (only an engine in the host's process has this). */
  setLocal?(slot: number, caps: () => Capabilities | null): void;
  /** An invoke without the message layer, or null when the runner must first be (re)built (only in the host's process). */
  invokeDirect?(slot: number, name: string, inputJson: string | undefined, caller: string, timeoutMs?: number): Promise<DirectResult> | null;
  /** The slot whose isolate the engine was inside when last heard of (0: none), from its crossing marker. */
  readonly runningSlot: number;
  /** Send a message; false if the engine is gone. */
  send(msg: ToEngine): boolean;
  /** End the engine at once (SIGKILL; in process: dispose its isolates). */
  kill(): void;
  /** End the engine after what it was asked (disconnect), killing it if it lingers. */
  close(): Promise<void>;
}

const ENGINE_MAIN = fileURLToPath(new URL("./engine-main.js", import.meta.url));

// What V8 prints when a heap is out of memory; after it the process aborts or hangs for good.
const OOM_MARKERS = ["<--- Last few GCs --->", "Fatal JavaScript", "JavaScript heap out of memory", "CALL_AND_RETRY_LAST", "is_heap_oom"];

/** How an engine process is started: Node with warden's engine, optionally wrapped (bubblewrap). */
export type EngineCommand = (node: string, args: readonly string[]) => { readonly command: string; readonly args: readonly string[] };

// Memory-backed where the system has it: the marker is rewritten at every crossing.
const MARKER_DIRS = ["/dev/shm", tmpdir()];

/** A fresh, unlinked read-write file for one engine's crossing marker; its descriptor. */
function openMarkerFile(): number {
  let last: unknown;
  for (const dir of MARKER_DIRS) {
    const path = join(dir, `warden-engine-${process.pid}-${randomBytes(8).toString("hex")}`);
    try {
      const fd = openSync(path, "wx+", 0o600);
      unlinkSync(path);
      return fd;
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`warden could not create an engine's crossing-marker file in ${MARKER_DIRS.join(" or ")}: ${last instanceof Error ? last.message : String(last)}`);
}

/** The young-generation bound of an engine's own heap (see spawnEngine). */
export const ENGINE_SEMI_SPACE_ARG = "--max-semi-space-size=1";

/** Start an engine process. Its environment is empty: it needs nothing of the host's, and holds no secrets. */
export function spawnEngine(events: TransportEvents, wrap?: EngineCommand): EngineTransport {
  // WARDEN_SANDBOX_NODE_ARGS lets an operator profile engines (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
  // --max-semi-space-size bounds the young generation of the engine's own heap (messages in and
  // out), which would otherwise grow to 16 MiB per semi-space under traffic and stay that big idle:
  // -0.8 MiB per idle engine (benchmarks/README.md). It does not reach the plugins' isolates:
  // isolated-vm resets it once Node's isolate exists and sizes each isolate's heap from memoryMb.
  const nodeArgs = ["--no-node-snapshot", ENGINE_SEMI_SPACE_ARG, ...(process.env["WARDEN_SANDBOX_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== ""), ENGINE_MAIN];
  const { command, args } = wrap ? wrap(process.execPath, nodeArgs) : { command: process.execPath, args: nodeArgs };
  // Nothing of the host's environment crosses.
  // fd 3: the engine's channel. fd 4: the engine's crossing marker (engine-main.ts), a 4-byte slot
  // number at offset 0 of an unlinked file only the host and this engine hold. A positional write
  // wakes nobody: the host reads it once, when the engine is gone (a pipe cost two host wake-ups per
  // call, measured).
  const markerFd = openMarkerFile();
  const child = spawn(command, [...args], { stdio: [...ENGINE_STDIO, markerFd], env: {}, detached: false });
  let lastSlot: number | null = null;
  const readMarker = (): number => {
    if (lastSlot !== null) return lastSlot;
    const buf = Buffer.alloc(4);
    try {
      return readSync(markerFd, buf, 0, 4, 0) === 4 ? buf.readUInt32LE(0) : 0;
    } catch {
      return 0;
    }
  };
  let tail = "";
  let oom = false;
  let violation: string | null = null;
  let exited = false;
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    tail = (tail + chunk).slice(-4096);
    if (!oom && OOM_MARKERS.some((m) => tail.includes(m))) {
      oom = true;
      events.onOom();
    }
  });
  // The engine sends one message, or the messages of one of its turns as an array (turn-batch.ts).
  const channel = new LineChannel(child.stdio[3] as Duplex, DEFAULTS.host.maxEngineMessageBytes, {
    onMessage: (raw) => {
      if (!Array.isArray(raw)) events.onMessage(raw);
      else for (const m of raw as unknown[]) events.onMessage(m);
    },
    // What it sent cannot come from warden's engine: it is ended, and its tenants come back in a
    // fresh one (reported with the reason).
    onViolation: (reason) => {
      violation = reason;
      child.kill("SIGKILL");
    },
    onClose: () => {},
  });
  const write = (payload: ToEngine | ToEngine[]): boolean => (exited ? false : channel.send(payload));
  const outbox = new TurnBatch<ToEngine>(write);
  child.on("error", () => {
    // 'exit' follows (or the spawn failed, which 'exit' also reports).
  });
  // 'close' comes after every stdio stream ended, so the last crossing marker has been read.
  child.on("close", (code, signal) => {
    if (exited) return;
    exited = true;
    outbox.clear();
    lastSlot = readMarker();
    try {
      closeSync(markerFd);
    } catch {
      // already closed
    }
    events.onExit({ code, signal, oom, violation });
  });
  return {
    inHost: false,
    directInFlight: 0,
    get pid() {
      return child.pid;
    },
    get runningSlot() {
      return readMarker();
    },
    send(msg) {
      if (exited || !channel.open) return false;
      return outbox.push(msg);
    },
    kill() {
      child.kill("SIGKILL");
    },
    async close() {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      outbox.flush();
      // The engine exits when its channel's input ends (engine-main.ts).
      channel.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 1000);
      await gone;
      clearTimeout(timer);
    },
  };
}
