// `warden serve`: a host over a plugins directory (watching it, approvals required by default) and
// the operator's console on it (core/console/): the admin API, /metrics and the dashboard. Runs
// until SIGINT or SIGTERM, then closes the server and the host and exits 0.
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import ipaddr from "ipaddr.js";
import { createConsoleServer } from "../console/console-server.ts";
import { createHostMetrics, type HostMetrics } from "../console/metrics.ts";
import { DEFAULT_CONSOLE } from "../console/console-defaults.ts";
import { loadConsoleToken } from "../console/console-token.ts";
import { PluginLogRing } from "../console/recent-rings.ts";
import { BadInputError, toWardenError, escapeText } from "../../errors/index.ts";
import { createHost, type Host } from "../host/host.ts";
import { auditKeyFromEnv } from "./audit-key.ts";
import { EXIT, refuse } from "./cli-errors.ts";
import { cliLogger, printJson } from "./output.ts";
import { SERVE_USAGE } from "./usage.ts";

/** Whether `host` names this machine's loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (!ipaddr.isValid(host)) return false;
  const a = ipaddr.process(host);
  return a.range() === "loopback";
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return DEFAULT_CONSOLE.port;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n > 65535)
    throw new BadInputError(`--port must be a port number from 0 to 65535 (0: any free port), got ${JSON.stringify(escapeText(text))}`, { field: "port" });
  return n;
}

/** The console's address as a URL (an IPv6 address in brackets). */
function urlOf(address: AddressInfo): string {
  const h = address.family === "IPv6" || address.address.includes(":") ? `[${address.address}]` : address.address;
  return `http://${h}:${address.port}/`;
}

/** Run `warden serve` with its arguments; resolves to the exit status once stopped by a signal. */
export async function serveCommand(args: string[]): Promise<number> {
  const json = args.includes("--json");
  let host: Host | null = null;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        "plugins-dir": { type: "string" },
        "audit-log": { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        "allow-remote": { type: "boolean", default: false },
        approvals: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
    if (values.help) {
      process.stdout.write(SERVE_USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new BadInputError(`warden serve takes no arguments, got ${positionals.map((p) => JSON.stringify(escapeText(p))).join(" ")}; see warden serve --help`);
    const approvals = values.approvals ?? "required";
    if (approvals !== "required" && approvals !== "off") throw new BadInputError(`--approvals must be "required" or "off", got ${JSON.stringify(escapeText(approvals))}`, { field: "approvals" });
    const listenHost = values.host ?? DEFAULT_CONSOLE.host;
    const port = parsePort(values.port);
    if (!isLoopback(listenHost)) {
      if (!values["allow-remote"])
        throw new BadInputError(
          `--host ${escapeText(listenHost)} is not a loopback address: the console would be reachable from other machines, its token crossing the network in clear text (plain HTTP). Put it behind a TLS proxy and pass --allow-remote, or keep the default ${DEFAULT_CONSOLE.host}`,
          { field: "host" },
        );
      process.stderr.write(
        `WARNING: the warden console listens on ${escapeText(listenHost)}, reachable from other machines, over plain HTTP: anyone who sees the token can approve, revoke and unload plugins. Serve it only behind a TLS proxy on a network you trust.\n`,
      );
    }
    const pluginsDir = resolve(values["plugins-dir"] ?? DEFAULT_CONSOLE.pluginsDir);
    const auditFile = resolve(values["audit-log"] ?? DEFAULT_CONSOLE.auditLog);
    mkdirSync(dirname(auditFile), { recursive: true });
    const token = loadConsoleToken(auditFile);
    const ring = new PluginLogRing();
    // The metrics need the host and see its audit records from the start: the observer is set
    // before loadAll writes the first grant record.
    let metrics: HostMetrics | null = null;
    const auditKey = auditKeyFromEnv();
    host = await createHost({
      pluginsDir,
      auditLog: auditFile,
      ...(auditKey !== undefined ? { auditKey } : {}),
      watch: true,
      approvals,
      logger: cliLogger(json, ring),
      onAudit: (r) => metrics?.observeAudit(r),
    });
    metrics = createHostMetrics(host);
    await host.loadAll();
    // On loopback, only loopback names in Host (a rebound DNS name is refused); a remote console
    // is reached by names warden cannot know (a proxy's), so any.
    const loopbackNames = ["127.0.0.1", "localhost", "[::1]", listenHost.toLowerCase()];
    const server = createConsoleServer({
      host,
      pluginsDir,
      auditLogFile: auditFile,
      auditKey,
      token: token.token,
      logBuffer: ring,
      metrics,
      ...(isLoopback(listenHost) ? { allowedHosts: loopbackNames } : {}),
    });
    await server.listen({ host: listenHost, port });
    const url = urlOf(server.server.address() as AddressInfo);
    // The token is printed once, when it was made: afterwards it is only in its file (mode 0600).
    if (json) printJson({ ok: true, url, tokenFile: token.file, ...(token.created ? { openUrl: `${url}#token=${token.token}` } : {}), pluginsDir, auditLog: auditFile, approvals });
    else if (token.created) process.stdout.write(`warden console: ${url}#token=${token.token}\nthe token is stored in ${token.file} (mode 0600) and is not printed again\n`);
    else process.stdout.write(`warden console: ${url}\nthe token is in ${token.file}: open ${url}#token=<its contents>\n`);
    const running = host;
    return await new Promise<number>((done) => {
      const stop = (signal: NodeJS.Signals) => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        process.stderr.write(`warden serve: ${signal}: closing the console and the host\n`);
        void server
          .close()
          .then(() => running.close())
          .then(() => metrics?.close())
          .then(
            () => done(EXIT.ok),
            (e: unknown) => {
              process.stderr.write(`warden serve: closing failed: ${escapeText(toWardenError(e).message)}\n`);
              done(EXIT.failed);
            },
          );
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
  } catch (e) {
    await host?.close().catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE" || err.code === "EACCES" || err.code === "EADDRNOTAVAIL")
      return refuse(new BadInputError(`cannot listen there (${err.code}): ${escapeText(err.message)}; choose another --port or --host`, { field: "port" }), json, "serve");
    return refuse(e, json, "serve");
  }
}
