// The README, docs/, the command line's help and the manifest schema state warden's defaults in
// prose; DEFAULTS (defaults/index.ts) is what the code uses. This test renders each stated default
// from DEFAULTS and looks for it in the text, so a default changed in one place and not the other
// fails here instead of misleading an operator sizing a host.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as cliUsage from "../../core/cli/usage.ts";
import { DEFAULTS } from "../../defaults/index.ts";
import { REPO_ROOT } from "../helpers/plugin-dir.ts";

const BYTE_FIELDS = new Set(["readBytes", "netBytes", "execOutputBytes", "messageBytes", "resultChars"]);

/** A size as the docs write it: "16 MiB", "64 KiB". */
function size(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return String(n);
}

/** A duration in whole seconds as the docs write it: "60 s". */
function seconds(ms: number): string {
  assert.equal(ms % 1000, 0, `${ms} ms is not whole seconds`);
  return `${ms / 1000} s`;
}

/** A count with its thousands apart, as the docs write it: "10 000". */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/** A size or a count, parsed back from the docs: "16 MiB", "30 000", "1000". */
function parse(text: string): number {
  const m = /^(\d[\d ]*?)(?: (MiB|KiB))?$/.exec(text.trim());
  assert.ok(m, `not a number: ${text}`);
  const n = Number((m[1] ?? "").replace(/ /g, ""));
  return m[2] === "MiB" ? n * 1024 * 1024 : m[2] === "KiB" ? n * 1024 : n;
}

const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
const flat = readme.replace(/\s+/g, " ");

describe("the documented defaults are DEFAULTS", () => {
  it("README's limits table", () => {
    const section = readme.slice(readme.indexOf("### Limits"));
    const rows = [...section.matchAll(/^\| `(\w+)` \| ([^|]+) \|/gm)].map((m) => [m[1] ?? "", parse(m[2] ?? "")] as const);
    const { resultChars: _resultChars, ...manifestLimits } = DEFAULTS.limits;
    assert.deepEqual(Object.fromEntries(rows), manifestLimits);
  });

  it("README's built-in maxima", () => {
    const start = flat.indexOf("The host caps what a manifest may ask for");
    const paragraph = flat.slice(start, flat.indexOf("A manifest asking for more", start));
    const found: Record<string, number> = {};
    // "`memoryMb` 512", "`cpuMs` 30 000", "`readBytes` and `netBytes` 64 MiB".
    for (const m of paragraph.matchAll(/`(\w+)`(?: and `(\w+)`)? (\d[\d ]*\d|\d)( MiB| KiB)?/g)) {
      const value = parse(`${m[3] ?? ""}${m[4] ?? ""}`);
      for (const field of [m[1], m[2]]) if (field !== undefined) found[field] = value;
    }
    assert.deepEqual(found, { ...DEFAULTS.maxLimits });
  });

  it("README's other defaults: host, bus, console output, audit, console", () => {
    const { host, channels, log, audit, console: consoleServer, limits } = DEFAULTS;
    const { concurrency, quarantine, restart } = host;
    assert.equal(quarantine.maxMs, 3_600_000, "the README says 'up to an hour'");
    assert.equal(audit.budgetWindowMs, 60_000, "the README says 'per minute'");
    const claims = [
      `An entry's result must be JSON-compatible and at most ${size(limits.resultChars)} of JSON`,
      `rate-limited (${log.ratePerSecond} lines/s, bursts of ${log.burst}) and buffered (${log.maxLines} lines`,
      `The host runs at most ${concurrency.maxInFlight} calls of a plugin at once and queues ${concurrency.maxQueued} more`,
      `one that does so ${quarantine.maxFailures} times in ${seconds(quarantine.windowMs)} is quarantined`,
      `for ${seconds(quarantine.baseMs)} (doubling each time, up to an hour)`,
      `${size(channels.queueBytes)} per subscription and ${size(channels.ownerQueueBytes)} per subscriber`,
      `cut every plugin-supplied text at ${size(audit.textChars)}`,
      `Past ${audit.distinctDenialsPerKind} distinct denials of one kind in ${seconds(audit.denialWindowMs)}, and past ${size(audit.bytesPerWindow)} of records per plugin per minute`,
      `// maxPluginsPerEngine: ${host.maxPluginsPerEngine},`,
      `// spareEngines: ${host.spareEngines},`,
      `own startup budget (${seconds(host.startupTimeoutMs)}, \`startupTimeoutMs\`)`,
      `polled every \`healthIntervalMs\` (${seconds(host.healthIntervalMs)})`,
      `the wait doubles from ${restart.baseMs} ms up to ${seconds(restart.maxMs)}`,
      `(${channels.queueLength} messages and ${size(channels.queueBytes)} per subscription, ${size(channels.ownerQueueBytes)} per plugin)`,
      `(\`spareEngines\`, default ${host.spareEngines},`,
      `chains are limited to ${host.maxCallDepth}`,
      `\`${consoleServer.host}:${consoleServer.port}\` by default`,
    ];
    assert.deepEqual(
      claims.filter((c) => !flat.includes(c)),
      [],
      "README.md no longer says these, rendered from DEFAULTS: change the README or the default",
    );
  });

  it("docs/: the error catalogue, the console API, the behaviours", () => {
    const { limits, host, console: consoleServer, cli } = DEFAULTS;
    assert.equal(consoleServer.failureWindowMs, 60_000, "docs/console-api.md says 'within a minute'");
    const claims: ReadonlyArray<readonly [file: string, text: string]> = [
      ["docs/errors.md", `(wall clock, default ${limits.timeoutMs} ms)`],
      ["docs/errors.md", `of CPU (default ${limits.cpuMs} ms)`],
      ["docs/errors.md", `\`limits.memoryMb\` (default ${limits.memoryMb} MiB)`],
      ["docs/errors.md", `(default ${host.quarantine.maxFailures} times in ${seconds(host.quarantine.windowMs)})`],
      ["docs/behaviours.md", `\`startupTimeoutMs\` (default ${grouped(host.startupTimeoutMs)} ms,`],
      ["docs/console-api.md", `Defaults: plugins directory \`${cli.pluginsDir}\`, audit log \`${cli.auditLog}\`, loopback \`${consoleServer.host}:${consoleServer.port}\`.`],
      ["docs/console-api.md", `After ${consoleServer.maxFailures} failed attempts from one address within a minute`],
      ["docs/console-api.md", `&limit=${consoleServer.auditPageSize}\``],
      ["docs/console-api.md", `\`limit\` at most ${consoleServer.auditMaxPageSize}`],
      ["docs/console-api.md", `a \`: heartbeat\` comment every ${seconds(consoleServer.heartbeatMs)}`],
      ["docs/console-api.md", `At most ${consoleServer.maxEventStreams} streams at once`],
      ["docs/console-api.md", `a client that leaves ${size(consoleServer.eventStreamBufferBytes)} unread`],
    ];
    const missing = claims.filter(([file, text]) => !readFileSync(join(REPO_ROOT, file), "utf8").replace(/\s+/g, " ").includes(text));
    assert.deepEqual(missing, [], "these docs no longer say what DEFAULTS holds: change the doc or the default");
  });

  it("the command line's help names the defaults it uses", () => {
    // Every help text of the command line, one after the other.
    const usage = Object.values(cliUsage as Record<string, unknown>)
      .filter((v): v is string => typeof v === "string")
      .join("\n");
    const wrong: string[] = [];
    for (const line of usage.split("\n")) {
      const dir = /--plugins-dir <dir>.*\(default: ([^;)]+)/.exec(line)?.[1];
      if (dir !== undefined && dir !== DEFAULTS.cli.pluginsDir && !dir.startsWith("the directory holding")) wrong.push(line.trim());
      const log = /--audit-log <file>.*\(default: ([^,;)]+)/.exec(line)?.[1];
      if (log !== undefined && log !== DEFAULTS.cli.auditLog) wrong.push(line.trim());
      const host = /--host <addr>.*\(default: ([^;)]+)/.exec(line)?.[1];
      if (host !== undefined && host !== DEFAULTS.console.host) wrong.push(line.trim());
      const port = /--port <n>.*\(default: (\d+)/.exec(line)?.[1];
      if (port !== undefined && Number(port) !== DEFAULTS.console.port) wrong.push(line.trim());
    }
    assert.ok(/--plugins-dir <dir>.*\(default: /.test(usage) && /--port <n>.*\(default: /.test(usage), "the help's option lines changed shape; update this test");
    assert.deepEqual(wrong, []);
  });

  it("the manifest schema's limit descriptions", () => {
    const schema = JSON.parse(readFileSync(join(REPO_ROOT, "schema/plugin.schema.json"), "utf8")) as { properties: { limits: { properties: Record<string, { description: string }> } } };
    const wrong: string[] = [];
    for (const [field, { description }] of Object.entries(schema.properties.limits.properties)) {
      const value = DEFAULTS.limits[field as keyof typeof DEFAULTS.limits];
      const stated = `Default ${BYTE_FIELDS.has(field) ? size(value) : value}.`;
      if (!description.includes(stated)) wrong.push(`limits.${field}: "${description}" lacks "${stated}"`);
    }
    assert.deepEqual(wrong, []);
  });
});
