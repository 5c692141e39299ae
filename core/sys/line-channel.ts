// The channel between the host and an engine: one JSON value per line over a socket pair, read in
// time linear in its length, and bounded. The host reads it as what a compromised engine may send.
//
// Node's own IPC channel (serialization "json") was the transport until it was read that way: one
// line that is not JSON throws inside Node's channel reader, an uncaught exception that ended the
// host (measured, Node 20: exit 1 from `{not json` and a newline); a line that never ends is kept
// whole in a string growing until V8's string limit throws the same way; and its reader decodes
// every chunk into a string it appends to, 537 ms of the host's CPU for one 16 MiB message (Node
// 20; this reader decodes and parses each line once). Here a line that is not JSON, or longer than
// the reader's bound, is a violation: the reader stops, and its owner ends the engine.
import type { Duplex } from "node:stream";

/** What a channel tells its owner. */
export type LineChannelEvents = {
  /** One value the other side sent (parsed JSON, untrusted). */
  readonly onMessage: (value: unknown) => void;
  /** The other side broke the framing (a line too long, or not JSON); nothing more is read. */
  readonly onViolation: (reason: string) => void;
  /** The channel ended (the other side closed it or is gone); exactly once. */
  readonly onClose: () => void;
};

const NEWLINE = 0x0a;

/** Newline-delimited JSON over a socket: `send` writes a value, every complete line read is parsed and handed on. */
export class LineChannel {
  readonly #socket: Duplex;
  readonly #maxLineBytes: number;
  readonly #events: LineChannelEvents;
  // The start of a line whose end has not come yet: its pieces, kept until the newline (one concat).
  #pieces: Buffer[] = [];
  #pending = 0;
  #broken = false;
  #closed = false;

  /** Read and write `socket`; a line longer than `maxLineBytes` (bytes, newline excluded) is a violation. */
  constructor(socket: Duplex, maxLineBytes: number, events: LineChannelEvents) {
    this.#socket = socket;
    this.#maxLineBytes = maxLineBytes;
    this.#events = events;
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    // 'close' follows an error; the error itself says nothing the owner can act on.
    socket.on("error", () => {});
    socket.on("end", () => this.#close());
    socket.on("close", () => this.#close());
  }

  /** Whether the channel can still carry messages. */
  get open(): boolean {
    return !this.#closed && !this.#broken;
  }

  /** Write `value` as one line; false if the channel is closed (nothing written). */
  send(value: unknown): boolean {
    if (!this.open || this.#socket.writableEnded) return false;
    // JSON.stringify escapes every newline inside strings, so the line ends where the value does.
    this.#socket.write(`${JSON.stringify(value)}\n`);
    return true;
  }

  /** End the writing side once what was written has gone; the other side sees the end of its input. */
  end(): void {
    if (!this.#socket.writableEnded) this.#socket.end();
  }

  #read(chunk: Buffer): void {
    let start = 0;
    while (!this.#broken) {
      // Only the new bytes are searched: each byte is looked at once, however long the line.
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.#pending + (end - start) > this.#maxLineBytes) {
        this.#violate(`a message longer than ${this.#maxLineBytes} bytes`);
        return;
      }
      if (nl === -1) {
        if (end > start) {
          this.#pieces.push(chunk.subarray(start, end));
          this.#pending += end - start;
        }
        return;
      }
      const tail = chunk.subarray(start, nl);
      const line = this.#pieces.length === 0 ? tail : Buffer.concat([...this.#pieces, tail], this.#pending + tail.length);
      this.#pieces = [];
      this.#pending = 0;
      start = nl + 1;
      let value: unknown;
      try {
        value = JSON.parse(line.toString("utf8"));
      } catch (e) {
        this.#violate(`a message that is not JSON (${(e as Error).message.slice(0, 120)})`);
        return;
      }
      this.#events.onMessage(value);
    }
  }

  #violate(reason: string): void {
    this.#broken = true;
    this.#pieces = [];
    this.#pending = 0;
    this.#socket.pause();
    this.#events.onViolation(reason);
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pieces = [];
    this.#events.onClose();
  }
}
