// warden itself, through its library API: a plugin directory, a supervised sandbox process, the
// capability bridge (the host call is Warden.env.get: a permission check and an audit record).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryAuditLog } from "../../core/audit/audit-log.ts";
import { createDefaultLogger } from "../../core/logger.ts";
import { loadPlugin } from "../../core/plugin.ts";
import { EnginePool } from "../../core/runtime/engine-pool.ts";
import { PLUGIN_BODY, type Mechanism } from "./types.ts";

const logger = createDefaultLogger("silent");
process.env["WARDEN_BENCH_VALUE"] ??= "1";

const prepared = new Map<string, string>();

// The plugins of one run live in one directory, as a host's do: engines are shared among plugins of
// one plugins directory (the only host files an engine reads under the OS sandbox).
let pluginsDir: string | null = null;
function benchPluginsDir(): string {
  pluginsDir ??= mkdtempSync(join(tmpdir(), "warden-bench-"));
  return pluginsDir;
}

function writePlugin(nonce: string): string {
  const dir = mkdtempSync(join(benchPluginsDir(), "p-"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "plugin.json"),
    JSON.stringify({ id: "bench.plugin", name: "bench", version: "1.0.0", permissions: { env: ["WARDEN_BENCH_*"] }, limits: { cpuMs: 60_000, timeoutMs: 120_000, cpuMsPerMinute: 3_600_000 } }),
  );
  writeFileSync(
    join(dir, "index.js"),
    `${PLUGIN_BODY}\n// ${nonce}\nexport const call = (input) => handle(input);\nexport async function hostLoop(n) { for (let i = 0; i < n; i++) await Warden.env.get("WARDEN_BENCH_VALUE"); return null; }\n`,
  );
  return dir;
}

// WARDEN_BENCH_PER_ENGINE: tenants per shared engine for this run (default: warden's own default),
// to measure memory per plugin against blast radius (benchmarks/README.md).
const perEngine = Number(process.env["WARDEN_BENCH_PER_ENGINE"] ?? 0);
let benchPool: EnginePool | undefined;
function enginePool(): { enginePool?: EnginePool } {
  if (!(perEngine > 0)) return {};
  benchPool ??= new EnginePool({ maxPluginsPerEngine: perEngine });
  return { enginePool: benchPool };
}

function wardenMechanism(name: string, isolation: "engine" | "process" | "in-process"): Mechanism {
  return {
    name,
    async prepare(nonce) {
      prepared.set(nonce, writePlugin(nonce));
    },
    async create(nonce) {
      const dir = prepared.get(nonce) ?? writePlugin(nonce);
      prepared.delete(nonce);
      const plugin = await loadPlugin(dir, {
        audit: memoryAuditLog(),
        logger,
        isolation,
        concurrency: { maxInFlight: 64, maxQueued: 10_000 },
        hostFiles: { pluginsDir: benchPluginsDir() },
        ...enginePool(),
      });
      return {
        call: (input) => plugin.invoke("call", input),
        hostLoop: async (n) => void (await plugin.invoke("hostLoop", n)),
        close: async () => {
          await plugin.close();
          rmSync(dir, { recursive: true, force: true });
        },
        get pids() {
          return plugin.sandboxPid === undefined ? [] : [plugin.sandboxPid];
        },
      };
    },
  };
}

/** warden with isolation: "dedicated" (formerly "process"): an engine process per plugin. */
export const warden = wardenMechanism("warden", "process");

/** warden's default isolation: plugins share supervised engine processes (64 per engine), the host brokering capabilities. */
export const wardenEngine = wardenMechanism("warden engine", "engine");

/** warden with isolation: "in-process" (no process hop; the host shares the isolate's fate). */
export const wardenInProcess = wardenMechanism("warden in-process", "in-process");
