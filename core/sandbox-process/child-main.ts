// The sandbox process: holds one plugin's isolate and its capability bridge. It runs apart from
// the host because some hostile allocations make V8 abort or hang the whole process (measured:
// `Array(1e9).fill(0)` under a 16 MiB limit hangs it after a fatal OOM), and isolated-vm's
// maintainer advises exactly this. The host supervises it and restarts it; the host never dies.
import { createCapabilities, type Capabilities } from "../../capabilities/index.ts";
import { Sandbox } from "../../isolate/index.ts";
import { isWardenError, PluginError, type ErrorDescriptor, type WardenError } from "../errors.ts";
import { createNodeFs } from "../sys.ts";
import type { LoadSpec, ToChild, ToHost } from "./protocol.ts";

const HOOK_ON_LOAD = "onLoad";
const HOOK_ON_UNLOAD = "onUnload";

function send(msg: ToHost): void {
  process.send?.(msg);
}

function describe(e: unknown): ErrorDescriptor {
  if (isWardenError(e)) {
    const pluginStack = (e.details as { pluginStack?: unknown }).pluginStack;
    return { ...e.toDescriptor(), ...(typeof pluginStack === "string" ? { stack: pluginStack } : {}) };
  }
  return new PluginError(e instanceof Error ? e.message : String(e)).toDescriptor();
}

let spec: LoadSpec | null = null;
let capabilities: Capabilities | null = null;
let sandbox: Sandbox | null = null;

/** A usable sandbox, rebuilt (and its onLoad run again) after a limit condemned the last one. */
async function ensureSandbox(): Promise<Sandbox> {
  if (sandbox?.isUsable) return sandbox;
  if (spec === null || capabilities === null) throw new PluginError("no plugin is loaded in this sandbox process");
  const s = spec;
  const caps = capabilities;
  const fresh = Sandbox.create({
    pluginId: s.pluginId,
    version: s.version,
    pluginDir: s.pluginDir,
    main: s.main,
    config: s.config,
    limits: s.limits,
    operation: (op, args) => caps.call(op, args),
    log: (level, text) => send({ t: "log", level, text }),
    onCatastrophicError: (message) => {
      process.stderr.write(`warden sandbox: catastrophic isolate error: ${message}\n`);
      process.exit(70);
    },
  });
  sandbox = fresh;
  if (fresh.hooks.includes(HOOK_ON_LOAD)) await watchLimits(fresh.call(HOOK_ON_LOAD, undefined), fresh);
  return fresh;
}

/** Report a limit that condemned the sandbox, so the host can count it and log it. */
function watchLimits<T>(p: Promise<T>, s: Sandbox): Promise<T> {
  return p.catch((e: unknown) => {
    const cause: WardenError | null = s.condemnedBy;
    if (cause !== null) send({ t: "limit", error: cause.toDescriptor() });
    throw e;
  });
}

async function handle(msg: ToChild): Promise<unknown> {
  switch (msg.t) {
    case "load": {
      spec = msg.spec;
      capabilities = await createCapabilities({
        pluginId: spec.pluginId,
        pluginDir: spec.pluginDir,
        grants: spec.grants,
        fs: createNodeFs(),
        audit: { record: (event) => send({ t: "audit", event }) },
        limits: { readBytes: spec.limits.readBytes },
      });
      const s = await ensureSandbox();
      return { entries: s.entries, hooks: s.hooks };
    }
    case "invoke": {
      const s = await ensureSandbox();
      return watchLimits(s.call(msg.name, msg.input), s);
    }
    case "unload": {
      const s = sandbox;
      sandbox = null;
      if (s?.isUsable && s.hooks.includes(HOOK_ON_UNLOAD)) {
        await s.call(HOOK_ON_UNLOAD, undefined).catch(() => undefined);
      }
      s?.dispose();
      return null;
    }
  }
}

process.on("message", (raw) => {
  const msg = raw as ToChild;
  handle(msg).then(
    (value) => send({ t: "result", callId: msg.callId, ok: true, value: value ?? null }),
    (e: unknown) => send({ t: "result", callId: msg.callId, ok: false, error: describe(e) }),
  );
});
process.on("disconnect", () => process.exit(0));
