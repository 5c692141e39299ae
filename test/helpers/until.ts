// Waiting in tests for something that happens on its own (a watcher's reload, an engine's restart,
// a message's delivery): poll a condition with a deadline, never sleep for a guessed time.
import assert from "node:assert/strict";

/**
 * Poll `check` every 20 ms until it gives a value other than undefined or false, and return that
 * value; fail the test naming `what` after `ms` milliseconds.
 */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
