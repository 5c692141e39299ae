// The probe as a machine can fool it: no bwrap on PATH, a bwrap the kernel refuses namespaces to,
// and a "bwrap" that runs the engine without isolating it (a wrapper, a stub, an old package that
// ignores flags). Only a real, working bubblewrap may be reported available.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { probeBubblewrap } from "../../core/os-sandbox/bwrap-probe.ts";
import { createNodeExec } from "../../core/sys/node-exec.ts";
import { scratch, type Scratch } from "../helpers/plugin-dir.ts";

let s: Scratch;

/** A directory holding one executable `bwrap` with `body` (a sh script). */
function fakeBwrap(name: string, body: string): string {
  const dir = join(s.root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "bwrap"), `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "bubblewrap 0.8.0"; exit 0; fi\n${body}\n`, { mode: 0o755 });
  return dir;
}

describe("probeBubblewrap", () => {
  before(() => {
    s = scratch();
  });
  after(() => s.cleanup());

  it("positive control: the bubblewrap of this machine is found, tried and available", async (t) => {
    const installed = await createNodeExec(process.env["PATH"] ?? "").which("bwrap");
    if (installed === null) return t.skip("bubblewrap is not installed here (CI installs it)");
    const p = await probeBubblewrap();
    assert.equal(p.available, true, p.reason);
    assert.equal(p.path, installed);
    assert.match(p.version ?? "", /^\d+\.\d+/);
  });

  it("with no bwrap on PATH: unavailable, saying how to install it", async () => {
    const empty = join(s.root, "empty-bin");
    mkdirSync(empty);
    const p = await probeBubblewrap({ searchPath: empty });
    assert.deepEqual({ ...p, reason: "" }, { available: false, path: null, version: null, reason: "" });
    assert.match(p.reason, /bwrap is not on PATH .*apt-get install bubblewrap/);
  });

  it("a bwrap the kernel refuses namespaces to: unavailable, quoting bwrap and saying what to check", async () => {
    const dir = fakeBwrap("refused", `echo "bwrap: setting up uid map: Permission denied" >&2\nexit 1`);
    const p = await probeBubblewrap({ searchPath: dir });
    assert.equal(p.available, false);
    assert.equal(p.path, join(dir, "bwrap"));
    assert.match(p.reason, /setting up uid map: Permission denied/);
    assert.match(p.reason, /user namespaces/);
  });

  it("a bwrap that runs the engine without isolating it is not trusted", async () => {
    // Skips every flag and runs the command as it is, with warden's namespaces and the engines' channel.
    const dir = fakeBwrap("liar", `while [ "$1" != "--" ]; do shift; done\nshift\nexec "$@"`);
    const p = await probeBubblewrap({ searchPath: dir });
    assert.equal(p.available, false);
    assert.match(p.reason, /without isolating it \(same user, mnt, pid, net, ipc, uts namespace/);
  });

  it("tries once per process: a second probe with the same options starts nothing", async () => {
    const counter = join(s.root, "runs");
    const dir = fakeBwrap("counted", `echo run >> ${counter}\nexit 1`);
    const first = await probeBubblewrap({ searchPath: dir });
    const second = await probeBubblewrap({ searchPath: dir });
    assert.equal(second, first);
    assert.equal(readFileSync(counter, "utf8"), "run\n");
  });
});
