// The options createHost and loadPlugin take, checked before anything is built: a host given
// `quarantine: { maxFailures: -1 }`, `healthIntervalMs: "30s"` or a misspelt `quarantin` used to
// start and then quarantine at once, call health() in a tight loop or ignore the option. Each
// wrong value is BAD_INPUT naming the option's path, what it must be and what it was. zod (the
// manifest's validator) holds the shapes; the numeric bounds are what the timers and counters that
// use them can honour (Node's timers fire at once past 2^31-1 ms).
import { z } from "zod";
import { BadInputError } from "../errors/index.ts";

/** The longest delay a Node timer can wait, ms (setTimeout fires at once past it). */
export const MAX_TIMER_MS = 2_147_483_647;

/** A whole number from `min` to `max`, with the one message every numeric option uses. */
function whole(min: number, max: number) {
  const error = `expected a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** An object whose `methods` are functions (a duck type: loggers, writers, clocks come from anywhere). */
function withMethods(what: string, methods: readonly string[]) {
  const error = `expected ${what} (an object with ${methods.map((m) => `${m}()`).join(", ")})`;
  return z.custom<object>((v) => typeof v === "object" && v !== null && methods.every((m) => typeof (v as Record<string, unknown>)[m] === "function"), { error });
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === "function", { error: "expected a function" });
const record = z.record(z.string(), z.unknown(), { error: "expected an object" });

const concurrency = z.strictObject({ maxInFlight: whole(1, 10_000).optional(), maxQueued: whole(0, 1_000_000).optional() }, { error: "expected an object" });
const quarantine = z.strictObject(
  {
    maxFailures: whole(1, 1_000_000_000).optional(),
    windowMs: whole(1, MAX_TIMER_MS).optional(),
    baseMs: whole(1, MAX_TIMER_MS).optional(),
    maxMs: whole(1, MAX_TIMER_MS).optional(),
  },
  { error: "expected an object" },
);
const restart = z.strictObject({ baseMs: whole(0, MAX_TIMER_MS).optional(), maxMs: whole(0, MAX_TIMER_MS).optional() }, { error: "expected an object" });
const auditLimits = z.strictObject(
  {
    distinctDenialsPerKind: whole(1, 1_000_000).optional(),
    denialWindowMs: whole(1, MAX_TIMER_MS).optional(),
    bytesPerWindow: whole(1, 1_000_000_000_000).optional(),
    budgetWindowMs: whole(1, MAX_TIMER_MS).optional(),
  },
  { error: "expected an object" },
);
const isolation = z.enum(["engine", "dedicated", "process", "in-process"], { error: 'expected "engine", "dedicated" ("process") or "in-process"' });
const logger = withMethods("a pino-style logger", ["info", "warn", "error", "child"]);
const clock = withMethods("a clock", ["now", "after"]);
const auditWriter = withMethods("an audit writer", ["append", "appendBatch"]);

// The options loadPlugin shares with createHost (createHost passes its own through).
const shared = {
  logger: logger.optional(),
  concurrency: concurrency.optional(),
  quarantine: quarantine.optional(),
  restart: restart.optional(),
  startupTimeoutMs: whole(1, 3_600_000).optional(),
  isolation: isolation.optional(),
  auditLimits: auditLimits.optional(),
  clock: clock.optional(),
  maxLimits: record.optional(),
};

const hostOptions = z.strictObject({
  ...shared,
  pluginsDir: z.string({ error: "expected the path of a directory" }).min(1, { error: "expected the path of a directory" }),
  auditLog: z.union([z.string().min(1), auditWriter], { error: "expected a file path or an audit writer (an object with append(), appendBatch())" }).optional(),
  // Its length is checked by the audit log (checkAuditKey), whose message never shows the key.
  auditKey: z.string({ error: "expected a string (the secret the audit log's HMAC is keyed with)" }).optional(),
  defaults: z.strictObject({ limits: record.optional() }, { error: "expected { limits }" }).optional(),
  config: record.optional(),
  watch: z.boolean({ error: "expected true or false" }).optional(),
  healthIntervalMs: whole(0, MAX_TIMER_MS).optional(),
  maxCallDepth: whole(1, 64).optional(),
  maxPluginsPerEngine: whole(1, 10_000).optional(),
  spareEngines: whole(0, 16).optional(),
  sandbox: z.enum(["auto", "require", "off"], { error: 'expected "auto", "require" or "off"' }).optional(),
  bus: withMethods("a channel bus", ["publish", "subscribe"]).optional(),
  approvals: z.enum(["required", "off"], { error: 'expected "required" or "off"' }).optional(),
  onAudit: fn.optional(),
});

// loadPlugin's other options are objects warden makes itself (a ledger, an engine pool, a read
// manifest) or callbacks; unknown keys are allowed there, as createHost passes what it has.
const pluginOptions = z.looseObject({
  ...shared,
  audit: auditWriter,
  defaultLimits: record.optional(),
  onLimit: fn.optional(),
  onEvent: fn.optional(),
  onPluginCall: fn.optional(),
  staged: z.boolean({ error: "expected true or false" }).optional(),
});

/** The value at `path` in `input` (for the message: what was given). */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) v = typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** `v` as a short text for a message: JSON where it has one, else its type. */
function shown(v: unknown): string {
  if (typeof v === "function") return "a function";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch {
    text = undefined;
  }
  text ??= typeof v;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The keys the object schema at `path` of `schema` knows (optional wrappers looked through). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  for (const k of path) {
    while (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    s = s instanceof z.ZodObject ? (s.shape as Record<PropertyKey, z.ZodType>)[k] : undefined;
  }
  while (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function check(schema: z.ZodType, where: string, input: unknown): void {
  const r = schema.safeParse(input);
  if (r.success) return;
  const problems = r.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const at = issue.path.map(String).join(".");
      const names = issue.keys.map((k) => (at ? `${at}.${k}` : k)).join(", ");
      return { field: names, text: `${names}: not an option (misspelt?); the options${at ? ` of ${at}` : ""} are ${knownKeys(schema, issue.path).join(", ")}` };
    }
    const field = issue.path.map(String).join(".");
    const given = valueAt(input, issue.path);
    return { field, text: `${field}: ${issue.message}${given === undefined && issue.code !== "invalid_type" ? "" : `, not ${shown(given)}`}` };
  });
  const [first] = problems;
  throw new BadInputError(`${where}: ${problems.map((p) => p.text).join("; ")}`, { field: first?.field ?? "" });
}

/** Throw BAD_INPUT naming every option of createHost that is misspelt or out of its range. */
export function checkHostOptions(options: unknown): void {
  check(hostOptions, "createHost", options);
}

/** Throw BAD_INPUT naming every option of loadPlugin that is out of its range (plugin `dir`). */
export function checkPluginOptions(dir: string, options: unknown): void {
  check(pluginOptions, `loadPlugin ${dir}`, options);
}
