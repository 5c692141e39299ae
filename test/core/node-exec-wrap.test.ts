// createNodeExec's wrap hook, the seam an OS sandbox plugs into: the wrapper is what is spawned,
// with its own environment, never the command's (the command's environment is the wrapper's to
// pass on); a wrapper that refuses a command rejects the run before anything starts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BadInputError } from "../../errors/index.ts";
import { createNodeExec, type ExecRun } from "../../core/sys/node-exec.ts";
import { checkedCommand } from "../helpers/ports.ts";

const echo = await checkedCommand("/bin/echo");

const request = (over: Partial<ExecRun> = {}): ExecRun => ({
  command: echo,
  args: ["a", "b"],
  env: new Map([["COMMAND_SECRET", "s3cret"]]),
  stdin: null,
  maxOutputBytes: 1 << 16,
  signal: new AbortController().signal,
  ...over,
});

const text = (b: Uint8Array) => Buffer.from(b).toString();

describe("createNodeExec with a wrap", () => {
  it("positive control: without a wrap the command itself runs", async () => {
    const r = await createNodeExec().run(request());
    assert.equal(text(r.stdout), "a b\n");
  });

  it("spawns what the wrap returns, with the wrap's environment only", async () => {
    const seen: ExecRun[] = [];
    const exec = createNodeExec(process.env["PATH"] ?? "", undefined, (r) => {
      seen.push(r);
      return { file: "/bin/sh", args: ["-c", 'printf "%s|" "$@"; printf "%s|%s" "$WRAPPED" "${COMMAND_SECRET-unset}"', "wrapper", r.command.file, ...r.args], env: new Map([["WRAPPED", "yes"]]) };
    });
    const r = await exec.run(request());
    assert.equal(text(r.stdout), "/bin/echo|a|b|yes|unset");
    assert.equal(seen[0]?.env.get("COMMAND_SECRET"), "s3cret", "the wrap is given the command's environment to pass on");
  });

  it("a wrap that refuses the command rejects the run, and nothing is spawned", async () => {
    let started = 0;
    const exec = createNodeExec(process.env["PATH"] ?? "", { started: () => started++, ended: () => undefined }, () => {
      throw new BadInputError("refused by the wrap");
    });
    await assert.rejects(exec.run(request()), (e: Error) => e instanceof BadInputError && e.message === "refused by the wrap");
    assert.equal(started, 0);
  });
});
