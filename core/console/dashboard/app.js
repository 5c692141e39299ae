// warden's operator console (docs/console-api.md): plugins and their live state, a plugin's page,
// the approvals queue, the audit trail and the engines. Plain ES module, no build step.
//
// Plugins name themselves and write the messages, values and log lines shown here: every such
// string is hostile. Nothing is ever parsed as HTML: elements are made with createElement and
// every text goes in as a text node (el() below); the console's CSP forbids inline script too.
//
// The token comes from the address's fragment (#token=..., which never reaches the server), is
// kept in this module's memory only and removed from the address bar and the history entry.

const REFRESH_MS = 5000;
const EVENTS_KEPT = 200;

/** The bearer token, or null until one is given. */
let token = null;
/** Aborts the event stream (sign-out, or a new token). */
let streamAbort = null;
let pollTimer = null;
let refreshTimer = null;
let lastRefresh = 0;

const state = {
  plugins: [],
  approvals: [],
  audit: { offset: null, total: 0, limit: 100, filters: {} },
};

// ---------------------------------------------------------------------------------------------
// DOM helpers: text only.

/** An element with attributes and children; string children become text nodes (never HTML). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    // Handlers are added with addEventListener: an on* attribute would be inline script (and the CSP refuses it).
    if (/^on/i.test(name)) throw new Error(`el(): no ${name} attribute`);
    if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Append children: nodes as they are, anything else as text. */
function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const $ = (id) => document.getElementById(id);

/**
 * Replace `container`'s children, keeping the keyboard focus on the element with the same
 * data-focus-key if it had it (a poll must not throw a keyboard user back to the page's start).
 */
function replaceKeepingFocus(container, children) {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && container.contains(active) ? active.dataset.focusKey : undefined;
  container.replaceChildren();
  append(container, children);
  if (key === undefined) return;
  for (const candidate of container.querySelectorAll("[data-focus-key]")) {
    if (candidate instanceof HTMLElement && candidate.dataset.focusKey === key) {
      candidate.focus();
      return;
    }
  }
}

/** A state shown as a coloured badge that also says it in words (colour is never the only sign). */
function badge(kind, value) {
  const text = value === null || value === undefined ? "—" : String(value);
  return el("span", { className: `badge ${kind}-${/^[a-z-]+$/.test(text) ? text : "other"}` }, text);
}

const fmtNumber = (n) => (typeof n === "number" && Number.isFinite(n) ? (Number.isInteger(n) ? String(n) : n.toFixed(1)) : "—");
const fmtTime = (t) => (typeof t === "string" ? t.replace("T", " ").replace(/\.\d+Z$/, "Z") : "—");
const str = (v) => (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
const pluginHref = (id) => `#plugin/${encodeURIComponent(id)}`;

function notice(message, kind = "error") {
  const n = $("notice");
  n.className = `notice ${kind}`;
  n.textContent = message;
  n.hidden = message === "";
}

// ---------------------------------------------------------------------------------------------
// The API.

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Call the admin API with the token; a 401 signs out. */
async function api(path, options = {}) {
  if (token === null) throw new ApiError(401, "UNAUTHORIZED", "no token");
  const headers = { Authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method: options.method ?? "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: "no-store",
  });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.status === 401) {
    signOut("The token was refused: paste the one `warden serve` printed.");
    throw new ApiError(401, "UNAUTHORIZED", "unauthorized");
  }
  if (!res.ok) {
    const err = data !== null && typeof data === "object" && data.error ? data.error : {};
    throw new ApiError(res.status, str(err.code) || `HTTP_${res.status}`, str(err.message) || res.statusText);
  }
  return data;
}

/** Follow /api/events (server-sent events, read with fetch: EventSource cannot send the token). */
async function followEvents() {
  let delay = 1000;
  while (token !== null) {
    const abort = new AbortController();
    streamAbort = abort;
    try {
      const res = await fetch("/api/events", { headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" }, signal: abort.signal, cache: "no-store" });
      if (res.status === 401) {
        signOut("The token was refused: paste the one `warden serve` printed.");
        return;
      }
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
      setLive("Live", "on");
      delay = 1000;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split("\n")
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(line.startsWith("data: ") ? 6 : 5))
            .join("\n");
          if (data === "") continue;
          try {
            onHostEvent(JSON.parse(data));
          } catch {
            // A malformed event is skipped; the next poll shows the state anyway.
          }
        }
      }
    } catch (e) {
      if (abort.signal.aborted) return;
      void e;
    }
    if (token === null || abort.signal.aborted) return;
    setLive("Reconnecting…", "off");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

function setLive(text, kind) {
  const live = $("live");
  live.textContent = text;
  live.className = `live live-${kind}`;
}

// ---------------------------------------------------------------------------------------------
// Live events.

/** One line saying what an event is about (every field rendered as text by the caller). */
function describeEvent(e) {
  switch (e.type) {
    case "invoke":
      return `${str(e.entry)} called by ${str(e.caller)}: ${e.ok ? "ok" : `failed (${str(e.code)})`} in ${fmtNumber(e.ms)} ms`;
    case "denied":
      return `denied ${str(e.permission)} ${str(e.value)} (${str(e.op)})${e.count > 1 ? ` ×${e.count}` : ""}`;
    case "limit":
      return `${str(e.code)}: ${str(e.message)}`;
    case "load":
      return `loaded version ${str(e.version)} in ${fmtNumber(e.ms)} ms`;
    case "load-failed":
      return `failed to load (${str(e.code)}): ${str(e.reason)}`;
    case "pending":
      return `version ${str(e.version)} waits for approval: ${str(e.reason)}`;
    case "quarantine":
      return `quarantined until ${fmtTime(e.until)} after ${str(e.failures)} failures: ${str(e.cause)}`;
    case "restarting":
      return `restarting (attempt ${str(e.attempt)}, in ${str(e.delayMs)} ms) after ${str(e.cause)}`;
    case "engine-restart":
      return `its engine was ended: ${str(e.message)}`;
    default: {
      const rest = { ...e };
      delete rest.type;
      delete rest.plugin;
      return Object.keys(rest).length === 0 ? "" : JSON.stringify(rest);
    }
  }
}

function onHostEvent(e) {
  if (e === null || typeof e !== "object" || typeof e.type !== "string") return;
  const list = $("events");
  const item = el(
    "li",
    { className: `event event-${/^[a-z-]+$/.test(e.type) ? e.type : "other"}` },
    el("time", {}, new Date().toLocaleTimeString()),
    " ",
    typeof e.plugin === "string" ? el("a", { href: pluginHref(e.plugin) }, e.plugin) : "host",
    " ",
    el("span", { className: "event-type" }, e.type),
    " ",
    el("span", { className: "event-text" }, describeEvent(e)),
  );
  list.prepend(item);
  while (list.childElementCount > EVENTS_KEPT) list.lastElementChild.remove();
  scheduleRefresh();
}

/** Refresh what is shown after events, at most once a second (a storm of events is one refresh). */
function scheduleRefresh() {
  if (refreshTimer !== null) return;
  const wait = Math.max(0, 1000 - (Date.now() - lastRefresh));
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    void refresh();
  }, wait);
}

// ---------------------------------------------------------------------------------------------
// Views.

const VIEWS = ["token", "plugins", "plugin", "approvals", "audit", "engines"];

/** The view and its argument from the address's fragment. */
function currentRoute() {
  const hash = location.hash.slice(1);
  const slash = hash.indexOf("/");
  const view = slash < 0 ? hash : hash.slice(0, slash);
  const arg = slash < 0 ? null : decodeURIComponent(hash.slice(slash + 1));
  return VIEWS.includes(view) && view !== "token" ? { view, arg } : { view: "plugins", arg: null };
}

function show(view) {
  for (const v of VIEWS) $(`${v}-view`).hidden = v !== view;
  for (const link of document.querySelectorAll("nav a[data-view]")) {
    if (link.dataset.view === view || (view === "plugin" && link.dataset.view === "plugins")) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

/** Load and draw the current view (and the plugin list, which the header's counts need). */
async function refresh() {
  lastRefresh = Date.now();
  if (token === null) return;
  const { view, arg } = currentRoute();
  try {
    await Promise.all([loadPlugins(), loadApprovals()]);
    if (view === "plugin") await drawPlugin(arg);
    else if (view === "audit") await drawAudit();
    else if (view === "engines") await drawEngines();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    notice(`Could not load: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function loadPlugins() {
  const data = await api("/api/plugins");
  state.plugins = Array.isArray(data?.plugins) ? data.plugins : [];
  drawPlugins();
}

function drawPlugins() {
  const rows = state.plugins.map((p) => {
    const why = [p.reason, p.pendingUpdate ? `update ${str(p.pendingUpdate.version)} waits for approval: ${str(p.pendingUpdate.reason)}` : null, p.revoked ? `grants stopped: ${str(p.revoked)}` : null]
      .filter((x) => x)
      .join("; ");
    const engine = p.engine ? `#${p.engine.id}${p.engine.dedicated ? " (own)" : ""}` : "—";
    return el(
      "tr",
      { "data-plugin": p.id },
      el("th", { scope: "row" }, el("a", { href: pluginHref(p.id), "data-focus-key": `plugin:${p.id}` }, str(p.id))),
      el("td", {}, str(p.version)),
      el("td", {}, badge("state", p.state)),
      el("td", {}, p.approval ? badge("approval", p.approval.state) : "off"),
      el("td", { className: "num" }, fmtNumber(p.counters?.calls)),
      el("td", { className: "num" }, fmtNumber(p.counters?.errors)),
      el("td", { className: "num" }, fmtNumber(p.counters?.denials)),
      el("td", { className: "num" }, fmtNumber(p.cpuUsedMs)),
      el("td", {}, engine),
      el("td", { className: "why" }, why),
    );
  });
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 10 }, "No plugins.")));
  replaceKeepingFocus($("plugins-table").tBodies[0], rows);
}

async function loadApprovals() {
  try {
    const data = await api("/api/approvals");
    state.approvals = Array.isArray(data?.plugins) ? data.plugins : [];
  } catch (e) {
    // Approvals off (or the plugins directory unreadable): the queue says so, the rest goes on.
    if (e instanceof ApiError && e.status === 401) throw e;
    state.approvals = [];
    $("approvals-empty").textContent = `The approvals queue is not available: ${e.message}`;
  }
  drawApprovals();
}

/** A permissions object as lines ("net: api.example.com, *.example.org"). */
function permissionLines(p) {
  if (p === null || typeof p !== "object") return [];
  const lines = [];
  for (const [kind, value] of Object.entries(p)) {
    if (value === true) lines.push(`${kind}: everything`);
    else if (Array.isArray(value)) lines.push(`${kind}: ${value.map(str).join(", ")}`);
    else if (value && typeof value === "object") for (const line of permissionLines(value)) lines.push(`${kind}.${line}`);
  }
  return lines;
}

function drawApprovals() {
  const waiting = state.approvals.filter((a) => a.state !== "approved");
  const pending = waiting.filter((a) => a.state === "pending").length;
  const count = $("approvals-count");
  count.textContent = String(pending);
  count.hidden = pending === 0;
  count.setAttribute("aria-label", `${pending} pending`);
  $("approvals-empty").hidden = waiting.length > 0;
  const cards = waiting.map((a) => {
    const reason = el("input", { type: "text", id: `deny-reason-${a.id}`, "data-focus-key": `reason:${a.id}`, placeholder: "optional" });
    const approve = el("button", { type: "button", className: "approve", "data-focus-key": `approve:${a.id}`, "aria-label": `Approve ${a.id}` }, "Approve");
    const deny = el("button", { type: "button", className: "deny", "data-focus-key": `deny:${a.id}`, "aria-label": `Deny ${a.id}` }, "Deny");
    approve.addEventListener("click", () => decide(a.id, "approve", {}, [approve, deny]));
    deny.addEventListener("click", () => decide(a.id, "deny", reason.value.trim() === "" ? {} : { reason: reason.value.trim() }, [approve, deny]));
    const approval = a.approval;
    return el(
      "article",
      { className: "approval", "data-plugin": a.id, "aria-labelledby": `approval-${a.id}` },
      el("h3", { id: `approval-${a.id}` }, el("a", { href: pluginHref(a.id) }, str(a.id)), " ", str(a.version), " ", badge("approval", a.state)),
      el("h4", {}, a.state === "pending" && approval ? "What it asks for beyond its approval" : "What it asks for"),
      a.growth?.length > 0
        ? el(
            "ul",
            { className: "growth" },
            a.growth.map((g) => el("li", {}, str(g))),
          )
        : el("p", {}, "Nothing new."),
      el(
        "details",
        {},
        el("summary", {}, "Every grant it requests"),
        el(
          "ul",
          {},
          permissionLines(a.requested).map((l) => el("li", {}, l)),
        ),
      ),
      approval
        ? el(
            "p",
            { className: "on-record" },
            `On record: ${str(approval.decision)} ${str(approval.version)} by ${str(approval.by)} at ${fmtTime(approval.at)}${approval.reason ? ` (${str(approval.reason)})` : ""}`,
          )
        : null,
      el("div", { className: "actions" }, approve, " ", deny, " ", el("label", { for: `deny-reason-${a.id}` }, "Reason to deny"), " ", reason),
    );
  });
  replaceKeepingFocus($("approvals-list"), cards);
}

/** POST a decision or an action on a plugin, then redraw. */
async function decide(id, action, body, buttons = []) {
  for (const b of buttons) b.disabled = true;
  try {
    await api(`/api/plugins/${encodeURIComponent(id)}/${action}`, { method: "POST", body });
    notice(`${id}: ${action} done.`, "ok");
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) notice(`${id}: ${action} failed: ${e.code ? `${e.code}: ` : ""}${e.message}`);
  } finally {
    for (const b of buttons) b.disabled = false;
    await refresh();
  }
}

function table(caption, headers, rows, empty) {
  if (rows.length === 0) return el("p", {}, empty);
  return el(
    "table",
    {},
    el("caption", {}, caption),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        headers.map((h) => el("th", { scope: "col" }, h)),
      ),
    ),
    el(
      "tbody",
      {},
      rows.map((cells) =>
        el(
          "tr",
          {},
          cells.map((c) => el("td", {}, c)),
        ),
      ),
    ),
  );
}

function dl(pairs) {
  return el(
    "dl",
    { className: "facts" },
    pairs.filter(([, v]) => v !== undefined).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
  );
}

// pino's numeric levels, for log lines kept as pino wrote them.
const LOG_LEVELS = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** A log line as text, whatever shape the server keeps it in. */
function logText(line) {
  if (typeof line === "string") return line;
  if (line === null || typeof line !== "object") return str(line);
  const msg = line.msg ?? line.message ?? line.text;
  if (msg === undefined) return JSON.stringify(line);
  const level = LOG_LEVELS[line.level] ?? line.level;
  return [line.time ? fmtTime(typeof line.time === "number" ? new Date(line.time).toISOString() : line.time) : null, level, msg]
    .filter((x) => x !== null && x !== undefined)
    .map(str)
    .join(" ");
}

async function drawPlugin(id) {
  const body = $("plugin-body");
  if (id === null) return;
  let data;
  try {
    data = await api(`/api/plugins/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      $("plugin-title").textContent = id;
      replaceKeepingFocus(body, [el("p", {}, "No such plugin.")]);
      return;
    }
    throw e;
  }
  const p = data.plugin ?? {};
  // The name a plugin gives itself is its own text: shown, as text, beside the id that warden checked.
  const name = data.about?.name ?? p.name;
  $("plugin-title").textContent = `${str(p.id)}${name ? ` — ${str(name)}` : ""}`;
  const action = (name, label, confirmText) => {
    const b = el("button", { type: "button", "data-focus-key": `action:${name}` }, label);
    b.addEventListener("click", () => {
      if (confirmText && !window.confirm(confirmText)) return;
      void decide(p.id, name, {}, [b]);
    });
    return b;
  };
  const usage = data.usage ?? p.grantUsage ?? null;
  const rules = Array.isArray(usage?.rules) ? usage.rules : [];
  const never = new Set(Array.isArray(usage?.neverUsed) ? usage.neverUsed : []);
  const denials = Array.isArray(data.denials) ? data.denials : [];
  const log = Array.isArray(data.log) ? data.log : [];
  const grants = Array.isArray(data.grants) ? data.grants : [];
  replaceKeepingFocus(body, [
    dl([
      ["State", badge("state", p.state)],
      ["Why", p.reason ? str(p.reason) : undefined],
      ["Version", str(p.version)],
      ["Directory", str(p.dir)],
      ["Health", str(p.health)],
      [
        "Approval",
        p.approval
          ? [
              badge("approval", p.approval.state),
              ` ${str(p.approval.version)} by ${str(p.approval.by)} at ${fmtTime(p.approval.at)}${p.approval.expires ? `, expires ${fmtTime(p.approval.expires)}` : ""}`,
            ]
          : "off",
      ],
      ["Pending update", p.pendingUpdate ? `${str(p.pendingUpdate.version)}: ${str(p.pendingUpdate.reason)}` : undefined],
      ["Grants stopped", p.revoked ? str(p.revoked) : undefined],
      ["Engine", p.engine ? `#${p.engine.id} (pid ${str(p.engine.pid)}, ${p.engine.tenants} tenants${p.engine.alone ? `; alone: ${str(p.engine.alone)}` : ""})` : "—"],
      ["Calls / errors / denials", `${fmtNumber(p.counters?.calls)} / ${fmtNumber(p.counters?.errors)} / ${fmtNumber(p.counters?.denials)}`],
      ["Limit hits / restarts", `${fmtNumber(p.counters?.limitHits)} / ${fmtNumber(p.counters?.restarts)}`],
      ["CPU", `${fmtNumber(p.cpuUsedMs)} ms in the last minute, ${fmtNumber(p.counters?.cpuMs)} ms in all`],
    ]),
    el(
      "div",
      { className: "actions" },
      action("reload", "Reload"),
      " ",
      p.state === "quarantined" ? action("release", "Release from quarantine") : null,
      " ",
      p.approval ? action("revoke", "Revoke grants", `Revoke every grant of ${p.id}?`) : null,
      " ",
      action("unload", "Unload", `Unload ${p.id}?`),
    ),
    el("h3", {}, "Grants"),
    table(
      "What its manifest grants",
      ["Kind", "Rule", "Where", "Covers"],
      grants.map((g) => [str(g.kind), str(g.rule), str(g.source), str(g.covers)]),
      "No grants: it can only compute and log.",
    ),
    el("h3", {}, "Used and never used"),
    usage === null
      ? el("p", {}, "No usage figures (the host has no audit log).")
      : [
          el("p", {}, `${fmtNumber(usage.uses)} uses and ${fmtNumber(usage.denials)} denials since the host started; ${never.size} of ${rules.filter((r) => r.inManifest).length} rules never used.`),
          table(
            "Each grant rule's uses",
            ["Rule", "Permission", "Uses", "Last used"],
            rules.map((r) => [
              el("span", {}, str(r.source), " ", el("code", {}, str(r.rule))),
              str(r.permission),
              never.has(r.source) ? badge("usage", "never-used") : fmtNumber(r.uses),
              r.lastUsed ? fmtTime(r.lastUsed) : "never",
            ]),
            "No rules.",
          ),
          usage.sufficient
            ? el(
                "details",
                {},
                el("summary", {}, "The grants that would have sufficed"),
                el(
                  "ul",
                  {},
                  permissionLines(usage.sufficient).map((l) => el("li", {}, l)),
                ),
              )
            : null,
        ],
    el("h3", {}, "Recent denials"),
    table(
      "What it asked for and was denied, newest last",
      ["Permission", "Value", "Operation", "Count"],
      denials.map((d) => [str(d.permission), str(d.value), str(d.op), fmtNumber(d.count ?? 1)]),
      "No denials.",
    ),
    el("h3", {}, "Log"),
    log.length === 0
      ? el("p", {}, "No log lines.")
      : el(
          "ol",
          { className: "log" },
          log.map((line) => el("li", {}, logText(line))),
        ),
  ]);
}

/** The audit query of the current filters and page. */
function auditQuery(offset) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state.audit.filters)) if (v !== "") q.set(k, v);
  q.set("offset", String(offset));
  q.set("limit", String(state.audit.limit));
  return `/api/audit?${q}`;
}

async function drawAudit() {
  const a = state.audit;
  // The newest page unless the operator paged back: its offset needs the total first.
  let data = await api(auditQuery(a.offset ?? 0));
  if (a.offset === null && data.total > a.limit) data = await api(auditQuery(data.total - a.limit));
  a.total = data.total;
  const shownOffset = data.offset;
  const v = data.verified;
  const verdict = $("audit-verified");
  verdict.replaceChildren();
  if (v && v.ok === true) {
    verdict.className = "verdict verdict-ok";
    append(verdict, ["✓ Chain verified", ` — ${fmtNumber(v.records)} records, head `, el("code", {}, str(v.head).slice(0, 16)), "…"]);
  } else if (v && v.ok === false) {
    verdict.className = "verdict verdict-bad";
    append(verdict, ["✗ TAMPERED", ` — at line ${str(v.line)}: ${str(v.reason)}`]);
  } else {
    verdict.className = "verdict";
    verdict.textContent = "Chain not checked";
  }
  const records = Array.isArray(data.records) ? data.records : [];
  const rows = records.map((r) => {
    const rest = { ...r };
    for (const k of ["seq", "time", "type", "plugin", "permission", "value", "decision", "prev", "hash"]) delete rest[k];
    const details = JSON.stringify(rest);
    return el(
      "tr",
      {},
      el("td", { className: "num" }, str(r.seq)),
      el("td", {}, fmtTime(r.time)),
      el("td", {}, badge("record", r.type)),
      el("td", {}, typeof r.plugin === "string" ? el("a", { href: pluginHref(r.plugin) }, r.plugin) : ""),
      el("td", {}, str(r.permission)),
      el("td", { className: "value" }, str(r.value)),
      el("td", {}, r.decision ? badge("decision", r.decision) : ""),
      el("td", { className: "details" }, details === "{}" ? "" : details.length > 400 ? `${details.slice(0, 400)}…` : details),
    );
  });
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 8 }, "No records match.")));
  replaceKeepingFocus($("audit-table").tBodies[0], rows);
  $("audit-range").textContent = a.total === 0 ? "no records" : `records ${shownOffset + 1}–${shownOffset + records.length} of ${a.total}`;
  a.shown = shownOffset;
  $("audit-first").disabled = $("audit-prev").disabled = shownOffset === 0;
  $("audit-next").disabled = $("audit-last").disabled = shownOffset + records.length >= a.total;
}

async function drawEngines() {
  const data = await api("/api/engines");
  const engines = Array.isArray(data?.engines) ? data.engines : [];
  const spare = Array.isArray(data?.spare) ? data.spare : [];
  $("engines-summary").textContent = `${engines.length} engine(s) with tenants, ${spare.length} spare; ${fmtNumber(data?.restarts)} restart(s); OS sandbox ${data?.sandboxed ? "on" : "off"}.`;
  const tenantsOf = (id) => state.plugins.filter((p) => p.engine && p.engine.id === id);
  const row = (e, kind) =>
    el(
      "tr",
      {},
      el("th", { scope: "row", className: "num" }, `#${str(e.id)}`),
      el("td", { className: "num" }, e.pid === undefined || e.pid === null ? "in-process" : str(e.pid)),
      el("td", {}, kind),
      el("td", { className: "num" }, fmtNumber(e.tenants)),
      el(
        "td",
        {},
        tenantsOf(e.id).map((p, i) => [i > 0 ? ", " : "", el("a", { href: pluginHref(p.id) }, p.id), " ", badge("state", p.state)]),
      ),
    );
  const rows = [...engines.map((e) => row(e, e.dedicated ? "dedicated" : "shared")), ...spare.map((e) => row(e, "spare"))];
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 5 }, "No engines (plugins run in the host's process, or none is loaded).")));
  replaceKeepingFocus($("engines-table").tBodies[0], rows);
}

// ---------------------------------------------------------------------------------------------
// Navigation, sign-in, start.

function route(focus) {
  if (token === null) {
    show("token");
    return;
  }
  const { view } = currentRoute();
  show(view);
  notice("");
  if (focus) $(`${view}-title`).focus();
  void refresh();
}

function signOut(message) {
  token = null;
  streamAbort?.abort();
  streamAbort = null;
  clearInterval(pollTimer);
  pollTimer = null;
  setLive("Not connected", "off");
  const error = $("token-error");
  error.textContent = message ?? "";
  error.hidden = !message;
  show("token");
  $("token-input").focus();
}

function start() {
  // A new token (pasted, or in a fragment opened in this tab) replaces the old one's stream.
  streamAbort?.abort();
  clearInterval(pollTimer);
  route(false);
  void followEvents();
  pollTimer = setInterval(() => void refresh(), REFRESH_MS);
}

/** Take the token from `#token=...` once, and remove it from the address bar and this history entry. */
function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const given = params.get("token");
  if (given === null) return null;
  history.replaceState(null, "", `${location.pathname}${location.search}#plugins`);
  return given.trim() === "" ? null : given.trim();
}

function wire() {
  for (const h of document.querySelectorAll("h2")) h.setAttribute("tabindex", "-1");
  window.addEventListener("hashchange", () => {
    const given = tokenFromFragment();
    if (given === null) route(true);
    else {
      token = given;
      start();
    }
  });
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("token-input");
    const given = input.value.trim();
    input.value = "";
    if (given === "") return;
    token = given;
    $("token-error").hidden = true;
    if (currentRoute().view === "plugins" && location.hash !== "#plugins") history.replaceState(null, "", `${location.pathname}${location.search}#plugins`);
    start();
  });
  $("audit-filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    state.audit.filters = {};
    for (const k of ["plugin", "type", "decision", "from", "to"]) state.audit.filters[k] = String(form.get(k) ?? "").trim();
    state.audit.limit = Number(form.get("limit")) || 100;
    state.audit.offset = null;
    void refresh();
  });
  const page = (offset) => {
    state.audit.offset = Math.max(0, offset);
    void refresh();
  };
  $("audit-first").addEventListener("click", () => page(0));
  $("audit-prev").addEventListener("click", () => page((state.audit.shown ?? 0) - state.audit.limit));
  $("audit-next").addEventListener("click", () => page((state.audit.shown ?? 0) + state.audit.limit));
  $("audit-last").addEventListener("click", () => {
    state.audit.offset = null;
    void refresh();
  });
}

wire();
token = tokenFromFragment();
if (token === null) signOut();
else start();
