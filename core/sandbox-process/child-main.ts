// The sandbox process: holds one plugin's isolate and its capability bridge. It runs apart from
// the host because some hostile allocations make V8 abort or hang the whole process (measured:
// `Array(1e9).fill(0)` under a 16 MiB limit hangs it after a fatal OOM), and isolated-vm's
// maintainer advises exactly this. The host supervises it and restarts it; the host never dies.
import type { ToChild, ToHost } from "./protocol.ts";
import { createSandboxRunner } from "./runner.ts";

const runner = createSandboxRunner(
  (msg: ToHost) => process.send?.(msg),
  (message) => {
    process.stderr.write(`warden sandbox: catastrophic isolate error: ${message}\n`);
    process.exit(70);
  },
);
process.on("message", (raw) => runner.receive(raw as ToChild));
process.on("disconnect", () => process.exit(0));
