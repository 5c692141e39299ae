// Baselines that isolate by thread or process: worker_threads with postMessage, and
// child_process.fork with IPC (the design MaiBot and N.E.K.O use).
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { PLUGIN_BODY, type Instance, type Mechanism } from "./types.ts";

const CHILD = fileURLToPath(new URL("./child-plugin.js", import.meta.url));

type Port = { send(m: unknown): void; on(fn: (m: { t: string; id?: number; value?: unknown }) => void): void; close(): Promise<void>; pid?: number };

async function instance(port: Port, nonce: string): Promise<Instance> {
  let nextId = 1;
  const pending = new Map<number, (v: unknown) => void>();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  port.on((m) => {
    if (m.t === "ready") ready();
    else if (m.t === "host") port.send({ t: "host-reply" });
    else if (m.t === "result" && m.id !== undefined) {
      pending.get(m.id)?.(m.value);
      pending.delete(m.id);
    }
  });
  port.send({ t: "init", source: `${PLUGIN_BODY}\n// ${nonce}` });
  await isReady;
  const request = (m: object) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      port.send({ ...m, id });
    });
  return {
    call: (input) => request({ t: "call", input }),
    hostLoop: async (n) => void (await request({ t: "loop", n })),
    close: () => port.close(),
    ...(port.pid !== undefined ? { pids: [port.pid] } : {}),
  };
}

/** A worker thread per plugin, messages by postMessage. */
export const workerThreads: Mechanism = {
  name: "worker_threads",
  async create(nonce) {
    const w = new Worker(CHILD);
    return instance(
      {
        send: (m) => w.postMessage(m),
        on: (fn) => w.on("message", fn),
        close: async () => void (await w.terminate()),
      },
      nonce,
    );
  },
};

/** A child process per plugin, messages over the fork IPC channel. */
export const childProcess: Mechanism = {
  name: "child_process.fork + IPC",
  async create(nonce) {
    const c: ChildProcess = fork(CHILD, [], { serialization: "json", stdio: ["ignore", "ignore", "inherit", "ipc"] });
    return instance(
      {
        send: (m) => c.send(m as object),
        on: (fn) => c.on("message", fn as (m: unknown) => void),
        close: () =>
          new Promise<void>((r) => {
            c.once("exit", () => r());
            c.disconnect();
          }),
        ...(c.pid !== undefined ? { pid: c.pid } : {}),
      },
      nonce,
    );
  },
};
