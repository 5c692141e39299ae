#!/usr/bin/env node
// The warden CLI. isolated-vm needs --no-node-snapshot on Node 20+; a user should never have to
// know that, so this shim re-executes itself with the flag when it is missing.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

if (!process.execArgv.includes("--no-node-snapshot")) {
  const child = spawn(process.execPath, [...process.execArgv, "--no-node-snapshot", fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
} else {
  const { main } = await import("../dist/core/cli/main.js");
  process.exitCode = await main(process.argv.slice(2));
}
