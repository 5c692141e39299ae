// `warden doctor` as an operator runs it: exit 0 whatever the machine lacks, one JSON object with
// --json, the isolated-vm build this Node loads, and bubblewrap found and tried, or named missing
// with the fix when PATH has none.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { IVM_VERSION } from "../../isolate/ivm.ts";
import { probeBubblewrap } from "../../core/os-sandbox/bwrap-probe.ts";
import { REPO_ROOT } from "../helpers/plugin-dir.ts";

const BIN = join(REPO_ROOT, "bin/warden.js");

function doctor(args: string[], path = process.env["PATH"] ?? ""): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, "doctor", ...args], { encoding: "utf8", env: { ...process.env, PATH: path } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Report = { ok: boolean; isolate: { available: boolean; isolatedVm: string }; engineProcess: { available: boolean }; osSandbox: { available: boolean; path: string | null; detail: string } };

describe("warden doctor", () => {
  it("--json: one object naming this Node's isolated-vm build and what the bubblewrap probe found", async () => {
    const r = doctor(["--json"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 1);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.isolate.available, true);
    assert.equal(report.isolate.isolatedVm, IVM_VERSION.version);
    assert.equal(report.engineProcess.available, true);
    const probe = await probeBubblewrap();
    assert.equal(report.osSandbox.available, probe.available, report.osSandbox.detail);
    assert.equal(report.osSandbox.path, probe.path);
  });

  it("without bwrap on PATH: still exit 0, the OS sandbox marked missing with the install hint", () => {
    const r = doctor([], "/nonexistent");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^OS sandbox +NO +bwrap is not on PATH .*apt-get install bubblewrap/m);
    assert.match(r.stdout, /^isolate +yes +isolated-vm /m);
  });

  it("wrong usage exits 2", () => {
    assert.equal(doctor(["extra"]).status, 2);
  });
});
