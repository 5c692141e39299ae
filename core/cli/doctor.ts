// `warden doctor`: which of warden's layers of isolation this machine provides, so an operator
// learns before loading a hostile plugin that bubblewrap is missing (and how to fix it), not after.
import { escapeText } from "../../errors/index.ts";
import { probeBubblewrap, type SandboxProbe } from "../os-sandbox/bwrap-probe.ts";
import { WARDEN_VERSION } from "../version.ts";

/** One layer: whether it is available here, and what that rests on (or why not, and the fix). */
export type LayerReport = { readonly available: boolean; readonly detail: string };

/** Everything doctor reports. */
export type DoctorReport = {
  readonly warden: string;
  readonly node: string;
  readonly platform: string;
  readonly isolate: LayerReport & { readonly isolatedVm: string | null; readonly package: string | null };
  readonly engineProcess: LayerReport;
  readonly osSandbox: LayerReport & { readonly path: string | null; readonly version: string | null };
};

/** Look at this machine: the isolated-vm build for this Node, the engine process, bubblewrap (tried once). */
export async function diagnose(probe: () => Promise<SandboxProbe> = () => probeBubblewrap()): Promise<DoctorReport> {
  let isolate: DoctorReport["isolate"];
  try {
    // Imported here so that a missing build is reported as a layer, not as a crash of the command.
    // isolate/ivm.ts itself, not the layer's index: only the build and its version are wanted here,
    // and the index does not export them (nothing else outside isolate/ needs isolated-vm itself).
    const { IVM_VERSION } = await import("../../isolate/ivm.ts");
    isolate = { available: true, isolatedVm: IVM_VERSION.version, package: IVM_VERSION.pkg, detail: `isolated-vm ${IVM_VERSION.version} (${IVM_VERSION.pkg}), the build for Node ${process.version}` };
  } catch (e) {
    isolate = { available: false, isolatedVm: null, package: null, detail: (e as Error).message };
  }
  const sandbox = await probe();
  return {
    warden: WARDEN_VERSION,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    isolate,
    engineProcess: { available: true, detail: "plugins' isolates run in supervised child processes (node --no-node-snapshot), never in the host's, unless a host chooses isolation: \"in-process\"" },
    osSandbox: {
      available: sandbox.available,
      path: sandbox.path,
      version: sandbox.version,
      detail: sandbox.available ? `bubblewrap ${sandbox.version ?? "(version unknown)"} at ${sandbox.path ?? "?"}: ${sandbox.reason}` : sandbox.reason,
    },
  };
}

/** The report as lines for a terminal. */
export function formatDoctor(r: DoctorReport): string {
  const row = (name: string, l: LayerReport) => `${name.padEnd(16)}${l.available ? "yes" : "NO "}  ${escapeText(l.detail)}\n`;
  return (
    `warden ${r.warden} on Node ${r.node} (${r.platform})\n` +
    row("isolate", r.isolate) +
    row("engine process", r.engineProcess) +
    row("OS sandbox", r.osSandbox) +
    (r.osSandbox.available ? "" : "Without the OS sandbox, code that escapes V8 runs with the host user's rights (docs/security.md).\n")
  );
}
