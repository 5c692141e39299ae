// The allocation shapes that make V8 abort, hang or segfault a whole process under a small heap
// limit (measured per Node line by memory-bombs.ts; contained by engines, see docs/security.md).

/** The shapes, as code run in the isolate; each would need far more than 16 MiB. */
export const SHAPES: Readonly<Record<string, string>> = {
  "Array(1e9).fill(0)": "Array(1e9).fill(0);",
  "object with 10^7 keys": "const o = {}; for (let i = 0; i < 1e7; i++) o['k' + i] = i;",
  "unbounded Map": "const m = new Map(); for (let i = 0; ; i++) m.set(i, { i });",
  '"a".repeat(5e8).replace(/a/g, "bb")': "'a'.repeat(5e8).replace(/a/g, 'bb');",
  "400 MB string": "const s = 'a'.repeat(400 * 1024 * 1024); s.indexOf('b');",
  "push loop (control)": "const a = []; for (;;) a.push({ x: a.length, y: 'payload' + a.length });",
};
