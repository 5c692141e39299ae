// Every default limit, timeout and size of warden, in one object (issue 16): a reader asking "what
// is a limit's default, and why" reads it here, and code everywhere else names DEFAULTS.<section>
// instead of a literal or a constant of its own. It sits beside errors/ at the bottom of the
// dependency order and imports nothing, because the lowest layers (isolate/, capabilities/) need
// its values too (test/architecture.test.ts). The older exported constants (DEFAULT_MAX_LIMITS,
// DEFAULT_RESTART...) remain, as views of this object, where they were.

/**
 * Every limit one plugin runs under: the one type the others are cut from (the sandbox's, the
 * capabilities', the process's and the manifest's limits are Picks of it).
 */
export type Limits = {
  /** Heap limit of the isolate in MiB (isolated-vm's memoryLimit, a soft limit). */
  readonly memoryMb: number;
  /** CPU time a call may use, across awaits and the timers it started, in ms. */
  readonly cpuMs: number;
  /** Wall-clock time a call may take, in ms. */
  readonly timeoutMs: number;
  /** CPU the plugin may use in any 60 s window, across all its calls, timers and handlers, in ms. */
  readonly cpuMsPerMinute: number;
  /** Largest file Warden.fs.readTextFile returns, in bytes. */
  readonly readBytes: number;
  /** Largest fetch response body, in bytes. */
  readonly netBytes: number;
  /** Each of a command's stdout and stderr, buffered, in bytes. */
  readonly execOutputBytes: number;
  /** Largest channel message, in bytes of JSON. */
  readonly messageBytes: number;
  /** Largest entry result, in characters of its JSON text (the sandbox's own: no manifest sets it). */
  readonly resultChars: number;
};

/** What `warden install` (installPlugin) accepts of one package, tarball or directory. */
export type InstallLimits = {
  /** The tarball's own size, read whole into memory so that what was hashed is what is unpacked. */
  readonly packageBytes: number;
  /** Entries (files, directories, links) in the package. */
  readonly files: number;
  /** One file, both as declared by its tar header and as actually read. */
  readonly fileBytes: number;
  /** All files together, unpacked (a gzip bomb stops here, not at the disk's end). */
  readonly totalBytes: number;
};

/** `T` with every nested field read-only, as DEFAULTS is frozen. */
export type DeepReadonly<T> = { readonly [K in keyof T]: T[K] extends object ? DeepReadonly<T[K]> : T[K] };

/** Freezes `o` and every object in it, so that no importer can change a default for everyone. */
function frozen<T extends object>(o: T): DeepReadonly<T> {
  for (const v of Object.values(o)) if (typeof v === "object" && v !== null) frozen(v);
  return Object.freeze(o);
}

/** The fields `keys` of `o`, in the order of `keys`: how a view such as SandboxLimits is cut from DEFAULTS.limits. */
export function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) out[k] = o[k];
  return out as Pick<T, K>;
}

const KiB = 1024;
const MiB = 1024 * KiB;

// The contract's limits (what a plugin gets when neither its manifest nor its host says).
const limits: Limits = {
  memoryMb: 64,
  cpuMs: 1000,
  timeoutMs: 5000,
  cpuMsPerMinute: 10_000,
  readBytes: 16 * MiB,
  netBytes: 16 * MiB,
  execOutputBytes: 1 * MiB,
  messageBytes: 64 * KiB,
  resultChars: 8 * MiB,
};

// The built-in maxima: the most a manifest gets on a host that sets no `maxLimits` (and in `warden
// run`). Each is generous for a legitimate plugin and bounded for the host. The order of the fields
// is the order limits are checked and reported in (core/limits.ts, LIMIT_FIELDS).
const maxLimits: Omit<Limits, "resultChars"> = {
  // 8× the default heap; each plugin has its own sandbox process, so this is per plugin, and a
  // host loading ten such plugins must still fit on an ordinary server.
  memoryMb: 512,
  // 30 s of CPU in one call already blocks the plugin's isolate for that long.
  cpuMs: 30_000,
  // A call (and a channel handler: its delivery deadline is this timeout) holds a concurrency
  // slot and its queue for at most a minute.
  timeoutMs: 60_000,
  // One full core: an isolate runs on one thread, so a busy plugin cannot use more anyway; beyond
  // it the number only hides a plugin that spins.
  cpuMsPerMinute: 60_000,
  // File contents and response bodies are held whole in the sandbox process and copied into the
  // isolate as a string: 4× the default, well under the 512 MiB heap cap.
  readBytes: 64 * MiB,
  netBytes: 64 * MiB,
  // Each of stdout and stderr, buffered in the sandbox process: 16× the default.
  execOutputBytes: 16 * MiB,
  // Channel messages wait in the *host's* memory, in every matching subscription's queue (4 MiB
  // each by default): 1 MiB keeps at least four of the largest in each queue.
  messageBytes: 1 * MiB,
};

// The built-in install limits: generous for a plugin with its node_modules, bounded for the host.
const install: InstallLimits = {
  packageBytes: 64 * MiB,
  files: 10_000,
  fileBytes: 64 * MiB,
  totalBytes: 256 * MiB,
};

// A host's (createHost) options where it leaves them out; loadPlugin has the same defaults for the
// options it shares (startupTimeoutMs, concurrency, quarantine, restart).
const host = {
  /** onLoad's own budget (NEKO-19), wall-clock ms. */
  startupTimeoutMs: 10_000,
  /**
   * onLoad's CPU limit is its startup timeout counted up to this, ms, or the plugin's cpuMs if that
   * is higher (core/runtime/runner.ts): a host that raises startupTimeoutMs does not raise it.
   */
  startupCpuMs: 10_000,
  /** How often `health` is called, ms (0 disables). */
  healthIntervalMs: 30_000,
  /**
   * With `watch`, how long a plugin's files must be quiet before it is reloaded, ms: an editor's
   * save or a package manager writes several files in a burst, which is one reload.
   */
  watchDebounceMs: 100,
  /** Longest chain of plugin-to-plugin calls. */
  maxCallDepth: 4,
  /**
   * The longest line an engine may send the host, bytes (core/sys/line-channel.ts); past it the
   * engine is ended. Its largest legitimate message is one Warden call's arguments, 16 Mi
   * characters of JSON (isolate/limits.ts), at most 48 MiB as UTF-8, with the smaller messages of
   * its turn; the bound is what a compromised engine can make the host hold for one message.
   */
  maxEngineMessageBytes: 128 * MiB,
  /**
   * Plugins per shared engine: bounds what one engine's death costs (every co-tenant restarts)
   * against memory (each engine has its own ~11 MB base). 64 is the fewest measured to keep 1,000
   * idle plugins within 1.5x a bare isolate each (32: 1.61x, 64: 1.44x, 128: 1.35x;
   * benchmarks/README.md).
   */
  maxPluginsPerEngine: 64,
  /**
   * Engines a host keeps started ahead, without tenants: when an engine dies, its co-tenants move
   * into one that already booted, instead of waiting for a new Node process (most of the time to
   * come back: measured in benchmarks/README.md, "bystanders"). One idle engine costs its base
   * memory. (An engine pool created on its own keeps none.)
   */
  spareEngines: 1,
  /** Calls of one plugin running at once, and waiting; past both, BUSY. */
  concurrency: { maxInFlight: 8, maxQueued: 64 },
  /**
   * The part of a plugin's concurrency (its running slots, its waiting line) that calls from other
   * plugins may hold together, and the part of that one calling plugin may hold: the host
   * application keeps half for itself, and no one caller with a grant takes what is left from the
   * others (with 8 and 64: plugins 4 running and 32 waiting, one plugin 2 and 16).
   */
  pluginCallerShare: 0.5,
  oneCallerShare: 0.5,
  /** 5 failures in 60 s quarantine the plugin for 60 s, then 120 s, 240 s... up to 1 h. */
  quarantine: { maxFailures: 5, windowMs: 60_000, baseMs: 60_000, maxMs: 3_600_000 },
  /**
   * The restart backoff: the first restart after a failure is immediate (a bot must not miss
   * messages), then 250 ms, 500 ms... up to 30 s while the plugin keeps failing without a call or
   * a delivery succeeding in between. The quarantine (5 failures in 60 s) stops it long before the
   * longest wait matters.
   */
  restart: { baseMs: 250, maxMs: 30_000 },
};

// The channel bus: each subscription's queue, and a plugin's publishing rate.
const channels = {
  /** Messages each subscription's queue holds. */
  queueLength: 256,
  /** Bytes (of JSON) each subscription's queue may hold: four of the largest messages (maxLimits.messageBytes). */
  queueBytes: 4 * MiB,
  /** Bytes the queues of one subscriber (a plugin id, or the host) may hold together. */
  ownerQueueBytes: 16 * MiB,
  /** Messages per second one plugin may publish, sustained. */
  publishRate: 1000,
  /**
   * Publishes one plugin may make at once beyond the rate, after a quiet spell. A burst is work done
   * back to back on the engine thread and the host that the plugin's co-tenants wait behind:
   * measured with 30 bots beside a flooder (chat-load), their p99 reply time at the start of the
   * flood was ~250 ms with a burst of 1,000, ~150 ms with 100, ~85 ms with 50.
   */
  publishBurst: 50,
  /**
   * Messages one plugin is sent at once, across all its subscriptions (the others wait in their
   * queues). Its handlers run in one isolate anyway; without it one publish to a topic the plugin
   * subscribed to 500 times sent 500 messages to its engine in one turn of the host's thread, and a
   * handler publishing back to its own topic kept the host's event loop 0.4 s late (measured).
   */
  deliveriesInFlight: 16,
};

// A plugin's console output on its way to the host log: 200 lines/s sustained, bursts of 500, 1000
// lines queued, 16 KiB per line.
const log = {
  /** Lines kept waiting for a flush; past it the oldest are dropped. */
  maxLines: 1000,
  /** Sustained lines per second. */
  ratePerSecond: 200,
  /** Lines allowed in a burst above the rate. */
  burst: 500,
  /** Longest line kept, characters; longer ones are cut. */
  maxLineChars: 16 * KiB,
};

// The bounds on what one plugin can make the host write to the audit log. A plugin chooses the
// values it asks for (a 1 MiB path, a 1 MiB variable name) and how often it asks; the log must stay
// useful to an auditor and small enough to keep, and the host's memory must not grow with what the
// plugin sends. A host changes them with `auditLimits`.
const audit = {
  /**
   * Characters of any one plugin-supplied text in a record (value, resolved, reason, rule, an error
   * message). Real paths, URLs and names fit (PATH_MAX is 4096 bytes, but paths past 1 KiB are
   * rare and still identified by the sha256 of the whole value that replaces the cut end).
   */
  textChars: 1024,
  /** Characters of each sample value in an aggregate record (a hint, identified by its sha256). */
  sampleChars: 256,
  /** Samples an aggregate record keeps. */
  samples: 3,
  /** Distinct denials of one kind (permission, operation) written in full per window. */
  distinctDenialsPerKind: 16,
  /** The window over which denials are counted and repeats aggregated, ms. */
  denialWindowMs: 10_000,
  /** Kinds (permission, operation) tracked at once; past it, one catch-all kind "*" (keeps memory bounded). */
  maxKinds: 64,
  /**
   * Bytes of use and denial records the host writes for one plugin per window (1 MiB a minute:
   * thousands of ordinary records). Past it, records are counted per (type, permission, operation,
   * rule) into one `audit-suppressed` record when the window ends or the plugin closes.
   */
  bytesPerWindow: 1 * MiB,
  /** The byte budget's window, ms. */
  budgetWindowMs: 60_000,
  /** Events the sandbox process batches into one message before sending them (bounds one message). */
  eventsPerBatch: 256,
};

// The longest string of each kind a plugin may pass to a Warden call. Every one of them is matched
// against the grants, may be kept in a capability's decision cache, and is quoted in the error a
// refusal gives, all on the host's (or the engine's) thread: without a bound, a plugin with no grant
// at all could make the host keep 2048 x 16 MiB per matcher, or spend a second quoting and hashing
// one name. Each maximum is well past any legitimate value of its kind; a longer one is BAD_INPUT
// naming the kind and the maximum, before anything is matched, cached or quoted.
const values = {
  /** An environment variable name (Warden.env.get, permissions.query env): real names are tens of characters. */
  envNameChars: 256,
  /** A channel topic or pattern (16 segments at most; real topics are tens of characters). */
  topicChars: 256,
  /** A plugin id in Warden.plugins.call and permissions.query plugins (the manifest's own id maximum). */
  pluginIdChars: 256,
  /** An entry name in Warden.plugins.call (a JavaScript export name). */
  entryNameChars: 256,
  /** A path (Warden.fs.*, permissions.query read/write): PATH_MAX on Linux is 4096 bytes. */
  pathChars: 4096,
  /** A URL (fetch), and a host in permissions.query net: browsers and servers commonly refuse URLs past 8 KiB. */
  urlChars: 8192,
  /** A command name or path (Warden.exec, permissions.query exec): a path, so PATH_MAX. */
  commandChars: 4096,
};

// The command line's paths, where its --plugins-dir and --audit-log options are left out.
const cli = {
  /** The plugins directory of install, grants, ls, serve. */
  pluginsDir: "plugins",
  /** The audit log `warden run` writes and `warden check`, `grants usage` and `serve` read. */
  auditLog: ".warden/audit.jsonl",
};

// `warden serve` and its admin API: where it listens, and every bound on what it keeps in memory or
// lets one client cost.
const consoleServer = {
  host: "127.0.0.1",
  port: 7700,
  pluginsDir: cli.pluginsDir,
  auditLog: cli.auditLog,
  /** The token file's name, next to the audit log. */
  tokenFile: "warden-console.token",
  /** Failed token checks from one address within `failureWindowMs` before it gets 429 until the window ends. */
  maxFailures: 10,
  failureWindowMs: 60_000,
  /** Addresses the failure limiter tracks at once (the oldest is forgotten past it). */
  maxTrackedAddresses: 10_000,
  /** Recent denial events kept per plugin for `/api/plugins/:id`. */
  denialsPerPlugin: 50,
  /** Recent log lines kept per plugin for `/api/plugins/:id`. */
  logLinesPerPlugin: 200,
  /** Longest log message kept in the ring, characters (longer ones are cut, marked with …). */
  logLineChars: 4096,
  /** Plugins the rings keep lines for (ids come from manifests; this bounds them anyway). */
  maxPluginsTracked: 1000,
  /** `/api/audit`: records per page by default and at most. */
  auditPageSize: 100,
  auditMaxPageSize: 1000,
  /** `/api/events`: a comment line this often keeps proxies and clients from timing out. */
  heartbeatMs: 15_000,
  /** `/api/events`: streams open at once (each holds a connection and a listener). */
  maxEventStreams: 32,
  /** `/api/events`: bytes a stream may have waiting for a client that does not read, before it is ended. */
  eventStreamBufferBytes: 1 * MiB,
  /** Largest request body, bytes (the approve body is the biggest: a few hundred). */
  bodyLimit: 16 * KiB,
};

// The bounds on checking a value against a JSON Schema a plugin declares (its `config`, its entries'
// `input`): ajv runs on the host's thread, and the plugin chooses the schema's shape (manifests/
// schema-shape.ts, schema-budget.ts; patterns have their own bounds, manifests/schema-patterns.ts).
const schemas = {
  /**
   * Cost units one validation may spend: one per subschema evaluated, plus one per entry of its
   * own lists (`required`, `properties`, `enum`...). An ordinary input costs a few per value in it
   * (an array of 10 000 objects of three typed fields costs 70 000); 2^20 `anyOf` branches over
   * shared `$ref`s do not fit. Measured: the dearest units (failing branches that build errors)
   * cost ~1-2 µs, so a validation stops within ~0.2 s of the host's thread.
   */
  validationCost: 100_000,
  /**
   * Subschemas (schema objects) in all of one plugin's schemas together: ajv's compile time grows
   * faster than linearly with them (measured: 2 000 in one `anyOf`, ~1 s; 4 000, a stack overflow),
   * and compiling runs on the host's thread at load. Real config and input schemas have tens.
   */
  maxSubschemas: 1000,
};

// Reading a package's tar stream (core/install/tarball.ts), on top of the install limits.
const tar = {
  /**
   * Bytes of the uncompressed tar stream that are not file data, per entry the package may have
   * (limits.files): a header is 512 bytes, padding up to 511, a pax record with a long path a few
   * hundred more. Counted while the stream is decompressed, so a flood of headers, pax records or
   * padding (a few KB compressed, gigabytes unpacked) stops here; the stream's end (two zero
   * blocks) ends reading, and nothing after it is decompressed.
   */
  overheadBytesPerEntry: 4 * KiB,
  /** One pax or GNU long-name record, bytes (node-tar's default is 1 MiB). */
  metaEntryBytes: 64 * KiB,
};

// The bounds on loading one plugin's modules (isolate/module-loader.ts). Resolving, reading,
// type-stripping and compiling happen before any plugin code runs, on the thread of the engine the
// plugin shares with others (or the host's, in-process), and the plugin chooses every file: without
// them a plugin could make its engine read 100 MB files, walk 100 000 modules, or keep amaro's
// memory grown by a 40 MB TypeScript file for the life of the process.
const modules = {
  /** One module file, bytes (the largest real bundles are a few MB). */
  fileBytes: 16 * MiB,
  /** Every module and package.json of the graph together, bytes. */
  totalBytes: 64 * MiB,
  /** Modules in the graph (the most files `warden install` accepts in a package: limits.files). */
  count: 10_000,
  /** The longest chain of imports, modules: V8 and the loader recurse along it. */
  depth: 1000,
  /** One package.json, bytes (read only for its name, type, exports, module and main). */
  packageJsonBytes: 1 * MiB,
  /**
   * One TypeScript file, bytes. amaro takes ~1.5 s per MB of TypeScript and grows its WebAssembly
   * memory with it, which is never returned (measured on 2 shared vCPUs, 2026-12-03: 1 MB 1.5 s,
   * 4 MB 4.8 s, 16 MB 24 s and 540 MB of RSS; a 42 MB file 42 s and 1.6 GB); a bigger file is
   * compiled to JavaScript by its author (it still runs, as .js).
   */
  typeScriptFileBytes: 1 * MiB,
  /** Every TypeScript file of the graph together, bytes (~6 s of stripping). */
  typeScriptBytes: 4 * MiB,
};

// Name resolution for fetch. dns.lookup runs getaddrinfo on libuv's threadpool (4 threads unless
// UV_THREADPOOL_SIZE says otherwise), which the host's file I/O, crypto and zlib share; a name whose
// DNS server never answers holds a thread for the resolver's whole timeout (10 s and more), and no
// abort frees it. A plugin with a grant for a name it controls could fill the pool with 8 fetches.
const net = {
  /** Name resolutions of the whole host in flight at once (the rest wait their turn): half the default pool. */
  lookupsInFlight: 2,
  /** Name resolutions of one plugin in flight at once, so one plugin cannot take every turn. */
  lookupsPerPlugin: 1,
};

/** Every default of warden, by what it bounds. Frozen. */
export const DEFAULTS = frozen({
  /** A plugin's limits where its manifest and its host say nothing (the contract's). */
  limits,
  /** The host's maxima where its `maxLimits` says nothing. */
  maxLimits,
  /** What installPlugin accepts where its `limits` say nothing. */
  install,
  /** createHost's (and loadPlugin's) options. */
  host,
  /** The channel bus's queues and publishing rate. */
  channels,
  /** A plugin's console output. */
  log,
  /** What one plugin can make the host write to the audit log. */
  audit,
  /** The longest string of each kind a plugin may pass to a Warden call. */
  values,
  /** The command line's paths. */
  cli,
  /** `warden serve` and its admin API. */
  console: consoleServer,
  /** Checking values against the JSON Schemas plugins declare. */
  schemas,
  /** Loading one plugin's modules. */
  modules,
  /** Reading a package's tar stream. */
  tar,
  /** Name resolution for fetch. */
  net,
});

export { systemClock, type Clock, type ClockTimer } from "./clock.ts";
