// The capability bridge of one plugin. The plugin's identity is bound here, when its sandbox is
// built, and never read from anything the plugin passes. `call` is the one entry point: it checks
// the operation name and the arguments' shape, then hands over to the capability that checks the
// permission, audits, and performs the operation.
import { BadInputError } from "../core/errors.ts";
import { quote } from "../core/escape-text.ts";
import { createFsCapability } from "./fs-capability.ts";
import type { Grants } from "./grants.ts";
import type { AuditSink, FsPort } from "./ports.ts";
import { queryPermission } from "./query.ts";

export type { Grants, GrantList } from "./grants.ts";
export type { AuditEvent, AuditSink, FsPort, OpenedFile } from "./ports.ts";
export { OperationError } from "./operation-error.ts";
export { CheckedPath } from "./checked.ts";

/** Everything needed to build the capabilities of one plugin. */
export type CapabilityOptions = {
  readonly pluginId: string;
  readonly pluginDir: string;
  readonly grants: Grants;
  readonly fs: FsPort;
  readonly audit: AuditSink;
  readonly limits: { readonly readBytes: number };
};

/** The operations a plugin can ask for, by name. */
export const OPERATIONS = ["fs.readTextFile", "permissions.query"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The bridge of one plugin: `call(op, args)` resolves to a JSON-compatible value or rejects. */
export type Capabilities = {
  readonly pluginId: string;
  call(op: string, args: unknown): Promise<unknown>;
};

function argsArray(op: string, args: unknown, min: number, max: number, pluginId: string): unknown[] {
  if (!Array.isArray(args)) throw new BadInputError(`${op}: expected an argument list`, { pluginId });
  if (args.length < min || args.length > max) {
    throw new BadInputError(`${op}: expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${args.length}`, { pluginId });
  }
  return args;
}

/** Build the capability bridge for one plugin. */
export async function createCapabilities(o: CapabilityOptions): Promise<Capabilities> {
  const fs = await createFsCapability({ pluginId: o.pluginId, pluginDir: o.pluginDir, grants: o.grants, fs: o.fs, audit: o.audit, readBytes: o.limits.readBytes });
  const handlers: Record<Operation, (args: unknown[]) => Promise<unknown>> = {
    "fs.readTextFile": (a) => fs.readTextFile(a[0]),
    "permissions.query": (a) => queryPermission(a[0], o.grants, fs, o.pluginId),
  };
  const arity: Record<Operation, [number, number]> = { "fs.readTextFile": [1, 1], "permissions.query": [1, 1] };
  return {
    pluginId: o.pluginId,
    async call(op, args) {
      if (!(OPERATIONS as readonly string[]).includes(op)) throw new BadInputError(`unknown operation ${quote(op)}`, { pluginId: o.pluginId });
      const [min, max] = arity[op as Operation];
      return handlers[op as Operation](argsArray(op, args, min, max, o.pluginId));
    },
  };
}
