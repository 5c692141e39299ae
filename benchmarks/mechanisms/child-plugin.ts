// The plugin side of the worker_threads and child_process baselines: receives the plugin source,
// answers calls, and calls the host over the same channel (an async round trip per host call).
import { parentPort } from "node:worker_threads";

type Msg = { t: "init"; source: string } | { t: "call"; id: number; input: unknown } | { t: "loop"; id: number; n: number } | { t: "host-reply" };

const post = (m: unknown): void => {
  if (parentPort) parentPort.postMessage(m);
  else process.send?.(m);
};

let handle: (input: unknown) => unknown = () => null;
let hostReply: (() => void) | null = null;

function hostCall(): Promise<void> {
  return new Promise((resolve) => {
    hostReply = resolve;
    post({ t: "host" });
  });
}

async function onMessage(m: Msg): Promise<void> {
  switch (m.t) {
    case "init":
      // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call -- this child process runs the benchmark's plugin code as-is
      handle = new Function(`${m.source}\nreturn handle;`)() as typeof handle;
      post({ t: "ready" });
      return;
    case "call":
      post({ t: "result", id: m.id, value: handle(m.input) });
      return;
    case "loop":
      for (let i = 0; i < m.n; i++) await hostCall();
      post({ t: "result", id: m.id, value: null });
      return;
    case "host-reply": {
      const r = hostReply;
      hostReply = null;
      r?.();
      return;
    }
  }
}

if (parentPort) parentPort.on("message", (m: Msg) => void onMessage(m));
else process.on("message", (m: Msg) => void onMessage(m));
