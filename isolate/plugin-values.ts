// Bounds on what crosses from a plugin into host code. A plugin controls the text of every value
// it hands over (results, capability arguments, error descriptors) and, in theory, the prelude
// that produced it (it can install setters on Array.prototype that the prelude's own code runs
// into). So the host checks every such value itself, before any host code recurses into it: the
// nesting depth of JSON text with one linear scan (no recursion, no parse), parsed values with an
// explicit stack, and error text cut to a size and escaped so that it prints on one line.
import { escapeText, isContractErrorCode } from "../errors/index.ts";

/** Deepest nesting of arrays and objects accepted from a plugin (the prelude enforces the same). */
export const MAX_VALUE_DEPTH = 512;

/** Longest error message kept from a plugin, in characters; the rest is cut with a note. */
export const MAX_ERROR_MESSAGE_CHARS = 8 * 1024;

/** Longest plugin stack trace kept, in characters (it is at most 30 lines as the prelude cuts it). */
export const MAX_STACK_CHARS = 16 * 1024;

/** Longest error name kept from a plugin, in characters. */
const MAX_ERROR_NAME_CHARS = 100;

/**
 * The first place where JSON `text` nests deeper than `max`, as a character offset, or -1. One
 * pass; brackets inside strings do not count. The text is assumed to be what JSON.stringify made
 * (the parse that follows rejects anything else).
 */
export function jsonDepthExceeded(text: string, max = MAX_VALUE_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return -1;
}

/** What is wrong with a parsed value from a plugin (too deep, or not JSON data), or null. */
export function valueProblem(value: unknown, max = MAX_VALUE_DEPTH): string | null {
  // An explicit stack instead of recursion: the point is that a hostile value cannot exhaust ours.
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v === "string" || typeof v === "boolean") continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return "a number that is not finite";
      continue;
    }
    if (typeof v !== "object") return `a ${typeof v}`;
    if (depth >= max) return `a value nested deeper than ${max} levels`;
    if (Array.isArray(v)) {
      for (const item of v) stack.push([item, depth + 1]);
    } else {
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return "an object that is not plain data";
      for (const key of Object.keys(v)) stack.push([(v as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return null;
}

/** Plugin text cut to `max` characters (saying how long it was) and escaped onto one line. */
export function boundedPluginText(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max)}… [cut: the plugin's text was ${text.length} characters]` : text;
  return escapeText(cut);
}

/** A plugin's stack trace: each line escaped (lines stay lines), the whole cut to MAX_STACK_CHARS. */
export function boundedPluginStack(stack: string): string {
  const cut = stack.length > MAX_STACK_CHARS ? `${stack.slice(0, MAX_STACK_CHARS)}\n… [cut: the stack was ${stack.length} characters]` : stack;
  return cut.split("\n").map(escapeText).join("\n");
}

/**
 * An error descriptor from a plugin made safe for host code: name, message and stack are strings,
 * bounded and escaped; anything else the plugin put in it is dropped. The code is one of the
 * contract's or PLUGIN_ERROR, as the prelude decides: the codes warden adds (ENGINE_RESTARTED,
 * QUARANTINED, BUSY, APPROVAL_REQUIRED, ...) are warden's to raise, and the host acts on some of
 * them (a restart failing with ENGINE_RESTARTED is not counted towards quarantine), so a plugin
 * that reached into the prelude's serialisation (an Object.prototype.toJSON) must not raise them.
 */
export function boundedPluginError(d: unknown): { name: string; code: string; message: string; stack?: string } {
  const o = (typeof d === "object" && d !== null ? d : {}) as Record<string, unknown>;
  const name = typeof o["name"] === "string" ? boundedPluginText(o["name"], MAX_ERROR_NAME_CHARS) : "Error";
  // The prelude cuts at MAX_ERROR_MESSAGE_CHARS and adds its note; the margin keeps that note.
  const message = typeof o["message"] === "string" ? boundedPluginText(o["message"], MAX_ERROR_MESSAGE_CHARS + 100) : "an error without a message";
  const stack = typeof o["stack"] === "string" ? boundedPluginStack(o["stack"]) : undefined;
  const code = isContractErrorCode(o["code"]) ? o["code"] : "PLUGIN_ERROR";
  return { name, code, message, ...(stack !== undefined ? { stack } : {}) };
}
