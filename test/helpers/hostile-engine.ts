// An engine taken over by a plugin that escaped V8, as far as the host can tell: preloaded into the
// engine process (WARDEN_SANDBOX_NODE_ARGS="--title=<mode> --import <this file>"), it lets the
// engine work normally until a message it sends carries TRIGGER (a plugin's result), and then
// sends the host what warden's engine never would. The mode is the process title: an engine's
// environment is empty.
import { Socket } from "node:net";

/** What a plugin returns to make the hostile engine act. */
export const TRIGGER = "HOSTILE-ENGINE-TRIGGER";

/** The modes, as process titles. */
export const HOSTILE_MODES = {
  /** One line that is not JSON. */
  notJson: "warden-hostile-notjson",
  /** 200 MiB with no end of line. */
  endless: "warden-hostile-endless",
} as const;

// Only inside an engine started with one of the titles; importing this file elsewhere does nothing.
const mode = process.title;
if (Object.values(HOSTILE_MODES).includes(mode as never)) {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called with the socket as this
  const write = Socket.prototype.write as (this: Socket, chunk: unknown, ...rest: unknown[]) => boolean;
  Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    if (typeof chunk !== "string" || !chunk.includes(TRIGGER)) return write.call(this, chunk, ...rest);
    if (mode === HOSTILE_MODES.notJson) return write.call(this, "{not json\n", ...rest);
    const block = "A".repeat(1024 * 1024);
    for (let i = 0; i < 200; i++) write.call(this, block);
    return true;
  };
}
