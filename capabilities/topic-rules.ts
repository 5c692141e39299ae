// PURE channel topic matching. Topics are 1–16 segments of [A-Za-z0-9_-]; in patterns `*` is one
// segment and `**` (last only) one or more. A subscription pattern needs a grant that covers every
// topic the pattern can match, which is decided segment by segment without enumerating topics.

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** A problem with a concrete topic (no wildcards), or null. */
export function topicProblem(topic: string): string | null {
  const segs = topic.split(".");
  if (segs.length > 16) return "a topic has at most 16 segments";
  if (!segs.every((s) => SEGMENT.test(s))) return 'a topic is dot-separated segments of [A-Za-z0-9_-] (e.g. "chat.message"), without wildcards';
  return null;
}

/** A problem with a pattern (wildcards allowed), or null. */
export function patternProblem(pattern: string): string | null {
  const segs = pattern.split(".");
  if (segs.length > 16) return "a pattern has at most 16 segments";
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] ?? "";
    if (s === "*" || (s === "**" && i === segs.length - 1)) continue;
    if (s === "**") return "** is allowed only as the last segment";
    if (!SEGMENT.test(s)) return 'a pattern is dot-separated segments of [A-Za-z0-9_-], * or a final ** (e.g. "chat.*")';
  }
  return null;
}

/** Whether `pattern` matches the concrete `topic`. */
export function topicMatches(pattern: string, topic: string): boolean {
  const p = pattern.split(".");
  const t = topic.split(".");
  for (let i = 0; i < p.length; i++) {
    const s = p[i];
    if (s === "**") return t.length > i;
    if (i >= t.length) return false;
    if (s !== "*" && s !== t[i]) return false;
  }
  return p.length === t.length;
}

/** Whether every topic `pattern` can match is matched by `grant`. */
export function patternCovers(grant: string, pattern: string): boolean {
  const g = grant.split(".");
  const p = pattern.split(".");
  for (let i = 0; i < g.length; i++) {
    const gs = g[i];
    if (gs === "**") return p.length > i;
    if (i >= p.length) return false;
    const ps = p[i];
    if (ps === "**") return false;
    if (gs === "*") continue;
    if (ps !== gs) return false;
  }
  return g.length === p.length;
}
