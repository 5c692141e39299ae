// Real ports for capability tests (the same ones the sandbox process uses), with the parts a test
// needs to control (DNS answers, env, the bus) replaceable.
import { readFileSync } from "node:fs";
import { createCommandCheck, type ChannelPort, type CheckedCommand, type DnsPort, type Ports } from "../../capabilities/index.ts";
import { createNodeEnv } from "../../core/sys/node-env.ts";
import { createNodeExec } from "../../core/sys/node-exec.ts";
import { createNodeFs } from "../../core/sys/node-fs.ts";
import { createNodeDns, createNodeHttp } from "../../core/sys/node-net.ts";

/** A channel port that refuses everything (for tests that do not use channels). */
export const NO_CHANNELS: ChannelPort = {
  publish: () => Promise.reject(new Error("no bus in this test")),
  subscribe: () => Promise.reject(new Error("no bus in this test")),
  unsubscribe: () => Promise.resolve(),
};

/** A DNS port answering from a fixed table, falling back to the real resolver. */
export function fixedDns(table: Record<string, string[]>): DnsPort {
  const real = createNodeDns();
  return {
    lookup: async (name) => {
      const answers = table[name.toLowerCase()];
      if (answers === undefined) return real.lookup(name);
      return answers.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    },
  };
}

/** Node's real ports, with overrides. */
export function nodePorts(over: Partial<Ports> = {}): Ports {
  return {
    fs: createNodeFs(),
    dns: createNodeDns(),
    http: createNodeHttp(),
    exec: createNodeExec(process.env["PATH"] ?? ""),
    env: createNodeEnv(),
    channels: NO_CHANNELS,
    plugins: { call: () => Promise.reject(new Error("no host in this test")) },
    ...over,
  };
}

/**
 * `cmd` as the exec check passes it under a grant of every command (`exec: true`), to run in
 * `home`: the one way a test that drives the exec port directly gets a command to run (the port
 * takes nothing else, and takes the working directory from it).
 */
export async function checkedCommand(cmd: string, hostPath: string = process.env["PATH"] ?? "", home = "/"): Promise<CheckedCommand> {
  const d = await (await createCommandCheck(createNodeExec(hostPath), true, home)).decide(cmd);
  if (!d.ok) throw new Error(`${cmd} is not an executable on PATH`);
  return d.command;
}

/** Generous test limits. */
export const TEST_LIMITS = { readBytes: 1024, netBytes: 64 * 1024, execOutputBytes: 64 * 1024, messageBytes: 1024 };

/** Whether `pid` is a running process; a zombie (killed, not yet reaped by its new parent) is not. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The state follows the command name in parentheses, which may itself contain spaces.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}
