// A plugin written in TypeScript: warden strips the types when it loads (no build step), and its
// stack traces point at these lines. `warden/plugin` declares the Warden global and the web APIs.
import type { EntryContext } from "warden/plugin";
import { countWords, type WordCounts } from "./lib/count.ts";

interface CountInput {
  file: string;
  top?: number;
}

/** Count the words of data/<file>; the `top` most frequent are listed. */
export async function count(input: CountInput, context: EntryContext): Promise<WordCounts & { file: string; caller: string }> {
  if (typeof input?.file !== "string" || input.file.includes("/")) throw new Error('expected { file: "name.txt" }, a file in data/');
  const text = await Warden.fs.readTextFile(`data/${input.file}`);
  return { file: input.file, ...countWords(text, input.top ?? 3), caller: context.caller };
}

/** The texts there are to count. */
export async function files(): Promise<string[]> {
  const entries = await Warden.fs.readDir("data");
  return entries.filter((e) => e.isFile).map((e) => e.name);
}
