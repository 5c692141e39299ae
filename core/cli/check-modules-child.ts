// The process `warden check` compiles a plugin's modules in (core/cli/module-check.ts): compiling
// hostile code can exhaust V8 in ways a memory limit does not contain (docs/security.md), and a
// reviewer's checker must report that, not die of it. Prints one JSON line: the files, or the error.
import { checkModules } from "../../isolate/index.ts";
import { toWardenError } from "../../errors/index.ts";

const [dir, main] = process.argv.slice(2);
try {
  const files = checkModules(dir ?? ".", main ?? "index.js");
  process.stdout.write(`${JSON.stringify({ ok: true, files })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: toWardenError(e).toDescriptor() })}\n`);
}
