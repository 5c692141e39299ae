// Baselines in the benchmark's own process: a direct call, node:vm, and raw isolated-vm (sync
// applySync and async apply), each with JSON strings across the boundary where there is one.
import vm from "node:vm";
import ivm from "../../isolate/ivm.ts";
import { PLUGIN_BODY, type Instance, type Mechanism } from "./types.ts";

/** A plain function in this process: the floor. */
export const direct: Mechanism = {
  name: "direct call",
  async create(nonce) {
    let hostCalls = 0;
    const host = () => ++hostCalls;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call -- the in-process baseline is plain code in the host realm
    const fns = new Function("host", `${PLUGIN_BODY}\n// ${nonce}\nreturn { handle, hostLoop(n) { let r; for (let i = 0; i < n; i++) r = host(); return r; } };`)(host) as {
      handle: (i: unknown) => unknown;
      hostLoop: (n: number) => unknown;
    };
    return { call: async (input) => fns.handle(input), hostLoop: async (n) => void fns.hostLoop(n), close: async () => undefined };
  },
};

/** node:vm: a separate context in this isolate (no isolation of memory or CPU). */
export const nodeVm: Mechanism = {
  name: "node:vm",
  async create(nonce) {
    const context = vm.createContext({ host: () => 1 });
    vm.runInContext(
      `${PLUGIN_BODY}\n// ${nonce}\nfunction call(json) { return JSON.stringify(handle(JSON.parse(json))); }\nfunction hostLoop(n) { let r; for (let i = 0; i < n; i++) r = host(); return r; }`,
      context,
    );
    const call = context["call"] as (j: string) => string;
    const hostLoop = context["hostLoop"] as (n: number) => unknown;
    return { call: async (input) => JSON.parse(call(JSON.stringify(input))) as unknown, hostLoop: async (n) => void hostLoop(n), close: async () => undefined };
  },
};

function ivmInstance(nonce: string, async: boolean): Instance {
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  const context = isolate.createContextSync();
  context.global.setSync("host", new ivm.Callback(() => 1));
  isolate
    .compileScriptSync(
      `${PLUGIN_BODY}\n// ${nonce}\nglobalThis.call = (json) => JSON.stringify(handle(JSON.parse(json)));\nglobalThis.hostLoop = (n) => { let r; for (let i = 0; i < n; i++) r = host(); return r; };`,
    )
    .runSync(context);
  const call = context.global.getSync("call", { reference: true }) as ivm.Reference;
  const hostLoop = context.global.getSync("hostLoop", { reference: true }) as ivm.Reference;
  return {
    call: async (input) => JSON.parse((async ? await call.apply(undefined, [JSON.stringify(input)]) : call.applySync(undefined, [JSON.stringify(input)])) as string) as unknown,
    hostLoop: async (n) => void (async ? await hostLoop.apply(undefined, [n]) : hostLoop.applySync(undefined, [n])),
    close: async () => {
      context.release();
      isolate.dispose();
    },
  };
}

/** Raw isolated-vm, entered synchronously (applySync): the fast path warden's bridge uses. */
export const ivmSync: Mechanism = { name: "isolated-vm applySync", create: async (nonce) => ivmInstance(nonce, false) };

/** Raw isolated-vm, entered asynchronously (apply). */
export const ivmAsync: Mechanism = { name: "isolated-vm apply (async)", create: async (nonce) => ivmInstance(nonce, true) };
