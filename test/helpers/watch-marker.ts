// The watcher's debounce runs on the host's clock; what a test cannot move by hand is when the
// operating system tells the watcher about a write. So a test that asserts "this change scheduled
// nothing" writes a marker afterwards: a module of another plugin, whose reload the watcher does
// schedule. Once the marker's timer is pending, every change written before it has been seen (one
// watcher, whose events the kernel queues in order), and the pending timers are the whole answer.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ManualClock } from "./manual-clock.ts";
import { until } from "./until.ts";

/**
 * Rewrite the marker plugin's index.js and wait until `clock` has `expected` timers pending (the
 * marker's among them). Which plugin each timer reloads is for the test to check once it advances
 * the clock: the reload events name them.
 */
export async function watcherCaughtUp(clock: ManualClock, markerDir: string, expected: number): Promise<void> {
  writeFileSync(join(markerDir, "index.js"), `export const v = () => ${Date.now()};`);
  await until(`the watcher to schedule ${expected} reload(s), the marker's among them`, () => clock.pending.length >= expected);
}
