// A strict reader of Prometheus' text exposition format (0.0.4), for tests: every line must be a
// `# HELP`, a `# TYPE` or a sample whose family was declared, or the parse fails with the line.

/** One sample line: `name{labels} value`. */
export type Sample = { readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly value: number };

/** A parsed exposition: its samples, and each family's help and type. */
export type Exposition = { readonly samples: readonly Sample[]; readonly help: ReadonlyMap<string, string>; readonly type: ReadonlyMap<string, string> };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** The family a sample belongs to (a histogram's or summary's `_bucket`, `_sum` and `_count` are its own). */
function familyOf(name: string, type: ReadonlyMap<string, string>): string | null {
  if (type.has(name)) return name;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m !== null && m[1] !== undefined && (type.get(m[1]) === "histogram" || type.get(m[1]) === "summary")) return m[1];
  return null;
}

/** Parse `{a="x",b="y\"z"}` starting at `text[0] === "{"`; returns the labels and the rest of the line. */
function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`no "=" in the labels of: ${line}`);
    const key = text.slice(i, eq);
    if (!LABEL.test(key)) throw new Error(`bad label name ${JSON.stringify(key)} in: ${line}`);
    if (key in labels) throw new Error(`label ${key} twice in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`bad escape \\${String(next)} in: ${line}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value in: ${line}`);
    labels[key] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`expected "," or "}" after label ${key} in: ${line}`);
  }
}

/** Parse the exposition text, throwing at the first line that is not well formed. */
export function parseExposition(text: string): Exposition {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: Sample[] = [];
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the exposition does not end with a newline");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      if (kind === "HELP") {
        if (help.has(name)) throw new Error(`HELP twice for ${name}`);
        help.set(name, rest);
      } else {
        if (!TYPES.has(rest)) throw new Error(`bad type in: ${line}`);
        if (type.has(name)) throw new Error(`TYPE twice for ${name}`);
        type.set(name, rest);
      }
      continue;
    }
    if (line.startsWith("#")) throw new Error(`a comment that is neither HELP nor TYPE: ${line}`);
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd < 0) throw new Error(`no value in: ${line}`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    const { labels, rest } = line[nameEnd] === "{" ? parseLabels(line.slice(nameEnd), line) : { labels: {}, rest: line.slice(nameEnd) };
    const parts = rest.split(" ");
    // " value" or " value timestamp".
    if (parts[0] !== "" || parts.length < 2 || parts.length > 3) throw new Error(`bad value part in: ${line}`);
    const raw = parts[1] ?? "";
    // Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
    const special = /^([+-]?)(inf|nan)$/i.exec(raw);
    const value = special !== null ? (special[2]?.toLowerCase() === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity) : Number(raw);
    if (raw === "" || (special === null && !/^[+-]?[0-9.eE+-]+$/.test(raw)) || (special === null && Number.isNaN(value))) throw new Error(`bad value in: ${line}`);
    const family = familyOf(name, type);
    if (family === null) throw new Error(`sample of an undeclared family: ${line}`);
    if (!help.has(family)) throw new Error(`no HELP for ${family}`);
    samples.push({ name, labels, value });
  }
  return { samples, help, type };
}

/** The value of the one sample named `name` with exactly `labels`, or undefined. */
export function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  const found = e.samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want);
  if (found.length > 1) throw new Error(`${found.length} samples ${name} ${want}`);
  return found[0]?.value;
}
