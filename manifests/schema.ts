// The plugin.json schema. It is the documentation: every field says what it means, its default and
// why, and `npm run gen:schema` turns it into schema/plugin.schema.json for editors.
import { z } from "zod";
import semver from "semver";
import { checkEnvGrant, checkExecGrant, checkNetGrant, checkPathGrant, checkPluginId, checkTopicPattern } from "./grant-syntax.ts";
import { DEFAULTS } from "../defaults/index.ts";

type Check = (value: string) => string | null;

function checked(check: Check, description: string): z.ZodString {
  return z
    .string()
    .superRefine((value, ctx) => {
      const problem = check(value);
      if (problem !== null) ctx.addIssue({ code: "custom", message: problem, input: value });
    })
    .describe(description);
}

function grantList(item: z.ZodString, description: string) {
  return z
    .union([z.literal(true), z.array(item)])
    .optional()
    .describe(description);
}

const pathGrant = checked(checkPathGrant, "A path; relative paths resolve against the plugin's own directory and must stay inside it, symlinks included.");

/** Limits a manifest may ask for; a host may cap them further. */
export const LimitsSchema = z
  .strictObject({
    memoryMb: z.number().int().min(8).max(4096).optional().describe("Heap limit of the plugin's isolate in MiB. Default 64."),
    cpuMs: z.number().int().min(1).max(600_000).optional().describe("CPU time a call may spend, across awaits and timers, in ms. Default 1000."),
    timeoutMs: z.number().int().min(1).max(3_600_000).optional().describe("Wall-clock time a call may take, in ms. Default 5000."),
    cpuMsPerMinute: z
      .number()
      .int()
      .min(1)
      .max(3_600_000)
      .optional()
      .describe(
        "CPU time the plugin may use in any 60 s window, across all its calls, timers and handlers, in ms. Default 10000. Past it, calls fail with CPU_LIMIT at once until the window frees up.",
      ),
    readBytes: z
      .number()
      .int()
      .min(1)
      .max(1024 ** 3)
      .optional()
      .describe("Largest file Warden.fs.readTextFile returns, in bytes. Default 16 MiB."),
    netBytes: z
      .number()
      .int()
      .min(1)
      .max(1024 ** 3)
      .optional()
      .describe("Largest fetch response body, in bytes. Default 16 MiB."),
    execOutputBytes: z
      .number()
      .int()
      .min(1)
      .max(256 * 1024 ** 2)
      .optional()
      .describe("Cap on each of stdout and stderr of Warden.exec, in bytes. Default 1 MiB."),
    messageBytes: z
      .number()
      .int()
      .min(1)
      .max(16 * 1024 ** 2)
      .optional()
      .describe("Largest channel message a plugin may publish (JSON), in bytes. Default 64 KiB."),
  })
  .describe("Resource limits per call. Exceeding one gives MEMORY_LIMIT, CPU_LIMIT or TIMEOUT and the isolate is replaced.");

/** What a plugin may reach outside its isolate. Absent means denied; an empty list grants nothing. */
export const PermissionsSchema = z
  .strictObject({
    read: grantList(pathGrant, "Paths the plugin may read. `true` grants everything (but never /proc, /sys, /dev) and makes `warden check` warn."),
    write: grantList(pathGrant, "Paths the plugin may write. `true` grants everything and makes `warden check` warn. Never the plugin's own plugin.json, .js/.mjs/.ts/.mts modules or node_modules."),
    net: grantList(
      checked(checkNetGrant, "host, host:port, *.domain, IPv4, [IPv6], or CIDR."),
      "Hosts the plugin may fetch from. No port means any port. `true` grants everything and makes `warden check` warn.",
    ),
    exec: grantList(
      checked(checkExecGrant, "A command name resolved on PATH when the plugin loads, or an absolute path."),
      "Commands the plugin may run (no shell, ever). `true` grants everything and makes `warden check` warn.",
    ),
    env: grantList(
      checked(checkEnvGrant, "A variable name, or a prefix ending in * (AWS_*).").meta({ maxLength: DEFAULTS.values.envNameChars }),
      "Environment variables the plugin may read. `true` grants everything and makes `warden check` warn.",
    ),
    plugins: grantList(checked(checkPluginId, "A plugin id."), "Plugins whose entries this plugin may call with Warden.plugins.call."),
    channels: z
      .union([
        z.literal(true),
        z.strictObject({
          publish: grantList(
            checked(checkTopicPattern, "A topic pattern: segments of [A-Za-z0-9_-], * or a final **.").meta({ maxLength: DEFAULTS.values.topicChars }),
            "Topics the plugin may publish to.",
          ),
          subscribe: grantList(
            checked(checkTopicPattern, "A topic pattern: segments of [A-Za-z0-9_-], * or a final **.").meta({ maxLength: DEFAULTS.values.topicChars }),
            "Topics the plugin may subscribe to.",
          ),
        }),
      ])
      .optional()
      .describe("Message channels the plugin may publish to or subscribe to."),
  })
  .describe("What the plugin may do outside its isolate. Absent means denied.");

/** The whole plugin.json. Strict: an unknown key anywhere is an error. */
export const ManifestSchema = z
  .strictObject({
    $schema: z.string().optional().describe("The JSON Schema editors use to complete this file; ignored by warden."),
    id: checked(checkPluginId, 'Dot-separated lowercase segments of [a-z0-9-], at least two ("acme.weather"). Never a path.').meta({
      pattern: "^[a-z0-9-]+(\\.[a-z0-9-]+)+$",
      maxLength: DEFAULTS.values.pluginIdChars,
    }),
    name: z.string().min(1).max(200).describe("A human-readable name."),
    version: z
      .string()
      .refine((v) => semver.valid(v) !== null, { message: 'expected a semantic version such as "1.2.0"' })
      .describe("The plugin's version, semver."),
    description: z.string().max(2000).optional().describe("What the plugin does."),
    main: z
      .string()
      .refine((m) => m.length > 0 && !m.startsWith("/") && !m.includes("\\") && !m.split("/").includes(".."), {
        message: 'expected a relative path inside the plugin directory (e.g. "index.js")',
      })
      .optional()
      .describe("The entry module, relative to the plugin directory: ESM JavaScript (.js, .mjs) or TypeScript (.ts, .mts, types are stripped). Default index.js."),
    engines: z
      .strictObject({
        warden: z
          .string()
          .refine((r) => semver.validRange(r) !== null, { message: 'expected a semver range such as ">=0.1.0 <1.0.0"' })
          .describe("The warden versions this plugin works with; a warden outside it refuses the plugin."),
      })
      .optional()
      .describe("Runtime versions the plugin supports. Missing makes `warden check` warn."),
    permissions: PermissionsSchema.optional(),
    limits: LimitsSchema.optional(),
    dependencies: z
      .record(
        checked(checkPluginId, "A plugin id."),
        z.string().refine((r) => semver.validRange(r) !== null, { message: 'expected a semver range such as "^1.0.0"' }),
      )
      .optional()
      .describe("Plugins this one needs, by id, with a semver range."),
    config: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("A JSON Schema (draft-07) for the plugin's configuration; the host validates its config against it. Patterns are RE2 syntax (linear-time matching): no backreferences or lookaround."),
    entries: z
      .record(
        z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$]*$/, { message: "expected the name of an exported function" }),
        z.strictObject({
          input: z
            .record(z.string(), z.unknown())
            .optional()
            .describe(
              "A JSON Schema (draft-07) the entry's input must match; a mismatch is BAD_INPUT naming the field. Patterns are RE2 syntax (linear-time matching): no backreferences or lookaround; one validation may spend at most 16 Mi steps (characters × pattern instructions) on patterns, so give long strings a maxLength.",
            ),
          timeoutMs: z.number().int().min(1).max(3_600_000).optional().describe("This entry's own wall-clock limit, ms (instead of limits.timeoutMs)."),
        }),
      )
      .optional()
      .describe("A warden extension: per entry, a JSON Schema for its input and its own timeoutMs."),
  })
  .describe("A warden plugin manifest (plugin.json).");

export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestPermissions = z.infer<typeof PermissionsSchema>;
export type ManifestLimits = z.infer<typeof LimitsSchema>;
