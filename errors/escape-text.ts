// In errors/ beside the catalogue, for the same reason: any layer may import it, and it imports
// nothing. Every value that came from a plugin (a path, a host name, a log line, an error message)
// passes through here before it reaches a terminal, a log line or the audit log, so that ANSI/OSC
// escapes, bidi overrides and newlines cannot rewrite what an operator reads (docs/security.md, bypasses D5, D6, D30).

// C0 and C1 controls, DEL, bidi marks/embeddings/overrides/isolates, line/paragraph separators,
// BOM, and the invisible characters that make two different names look the same (zero-width
// space/joiners, word joiner, invisible operators, soft hyphen, Mongolian vowel separator,
// interlinear annotation marks).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]/g;
// eslint-disable-next-line no-control-regex -- same set, without /g, for the common clean case
const HAS_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]/;

/** Escape control, ANSI and bidi characters as \n, \t or \u{XXXX}; the result is printable on one line. */
export function escapeText(text: string): string {
  if (!HAS_UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, (ch) => {
    if (ch === "\n") return "\\n";
    if (ch === "\r") return "\\r";
    if (ch === "\t") return "\\t";
    return `\\u{${ch.codePointAt(0)!.toString(16).padStart(4, "0")}}`;
  });
}

/**
 * Quote an untrusted value for a message: escaped, in double quotes, cut to `max` characters with
 * its full length after it ("AAAA…" (16777152 characters)).
 */
export function quote(value: string, max = 200): string {
  // Cut before escaping: every host-built message quotes through here, and a plugin may send a
  // 16 MiB value; escaping (or copying) all of it to show 200 characters would stall the host.
  const escaped = escapeText(value.length > max ? value.slice(0, max) : value);
  const clipped = value.length > max || escaped.length > max;
  const cut = (escaped.length > max ? escaped.slice(0, max) : escaped).replace(/"/g, '\\"');
  return clipped ? `"${cut}…" (${value.length} characters)` : `"${cut}"`;
}

// What JSON.stringify leaves raw that a terminal or a log viewer acts on or hides: the same set as
// UNSAFE without C0, which JSON.stringify escapes itself (CSI is U+009B, a C1 control).
const JSON_UNSAFE = /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]/g;

/** JSON.stringify, with every character a terminal could act on written as a \uXXXX escape (same value). */
export function safeJson(value: unknown, space?: number): string {
  const text = JSON.stringify(value, null, space);
  if (text === undefined) return "null";
  return text.replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A copy of a flat record (an event) with every string field escaped; other fields as they are. */
export function escapeFields<T extends object>(record: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = typeof value === "string" ? escapeText(value) : value;
  return out as T;
}

/** A copy of `value` with every string in it (keys too), at any depth, escaped: plugin text inside structured data. */
export function escapeStrings<T>(value: T): T {
  if (typeof value === "string") return escapeText(value) as T;
  if (Array.isArray(value)) return value.map(escapeStrings) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k in value) {
      if (Object.hasOwn(value, k)) out[escapeText(k)] = escapeStrings((value as Record<string, unknown>)[k]);
    }
    return out as T;
  }
  return value;
}
